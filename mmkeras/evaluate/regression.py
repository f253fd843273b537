"""Regression metrics in numpy: MSE, RMSE, MAE and R2, per output and averaged over outputs."""

import numpy as np


def regression_metrics(y_true, y_pred):
    """Regression metrics of one set of predictions.

    R2 is `1 - SS_res / SS_tot` per output; it is NaN for an output whose targets are constant
    (`SS_tot = 0`: the fraction of variance explained is undefined). The averaged R2 is the mean
    over outputs where it is defined.

    Args:
        y_true: float array `(N,)` or `(N, K)`.
        y_pred: float array of the same shape.

    Returns:
        dict with `"metrics"` (`mse`, `rmse`, `mae`, `r2`, averaged uniformly over the `K` outputs)
        and `"per_output"` (a list of `K` dicts with the same keys).

    Example:
    >>> regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])["metrics"]["mae"]
    0.3333333333333333
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.size == y_pred.size and y_true.shape != y_pred.shape:
        # (N,) targets against an (N, 1) output: the same values, laid out differently.
        y_true = y_true.reshape(y_pred.shape)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"Regression targets and predictions must have the same shape, received "
            f"{y_true.shape} and {y_pred.shape}."
        )
    if y_true.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    y_true = y_true.reshape(y_true.shape[0], -1)
    y_pred = y_pred.reshape(y_pred.shape[0], -1)
    error = y_pred - y_true
    mse = np.mean(error**2, axis=0)
    mae = np.mean(np.abs(error), axis=0)
    ss_res = np.sum(error**2, axis=0)
    ss_tot = np.sum((y_true - y_true.mean(axis=0)) ** 2, axis=0)
    r2 = np.full(ss_tot.shape, np.nan)
    np.divide(ss_res, ss_tot, out=r2, where=ss_tot > 0)
    r2 = np.where(ss_tot > 0, 1.0 - r2, np.nan)
    defined_r2 = r2[~np.isnan(r2)]
    metrics = {
        "mse": float(np.mean(mse)),
        "rmse": float(np.mean(np.sqrt(mse))),
        "mae": float(np.mean(mae)),
        "r2": float(np.mean(defined_r2)) if defined_r2.size else float("nan"),
    }
    per_output = [
        {
            "mse": float(mse[k]),
            "rmse": float(np.sqrt(mse[k])),
            "mae": float(mae[k]),
            "r2": float(r2[k]),
        }
        for k in range(mse.size)
    ]
    return {"metrics": metrics, "per_output": per_output}
