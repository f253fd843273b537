"""Multi-label classification metrics in numpy.

Each label is its own binary problem, decided at a threshold on its score. Per label: precision,
recall, F1, support, ROC-AUC and PR-AUC. Averages: micro (counts or scores of all labels pooled),
macro (plain mean over labels) and weighted (by support). The same conventions as for single-label
metrics hold: 0 where a precision/recall denominator is 0, NaN for the AUCs of a label that is
never (or always) positive, and such NaNs are skipped in the averages.
"""

import numpy as np

from mmkeras.evaluate.classification import (
    _nan_mean,
    _weighted_mean,
    per_class_scores,
    precision_recall_f1,
)
from mmkeras.evaluate.curves import average_precision, roc_auc


def multilabel_metrics(y_true, y_score, threshold=0.5):
    """All multi-label metrics of one set of predictions.

    Args:
        y_true: array `(N, L)` of 0/1 targets (multi-hot).
        y_score: float array `(N, L)` of per-label probabilities.
        threshold: float, a label is predicted where its probability is `>= threshold`.

    Returns:
        dict with `"metrics"` (subset accuracy, Hamming loss, precision/recall/F1 micro, macro and
        weighted, ROC-AUC and PR-AUC micro and macro) and `"per_label"` (a list, one dict per
        label).

    Example:
    >>> result = multilabel_metrics([[1, 0], [1, 1]], [[0.9, 0.2], [0.8, 0.3]])
    >>> result["metrics"]["subset_accuracy"]
    0.5
    """
    y_true = (np.asarray(y_true, dtype=np.float64) > 0.5).astype(np.float64)
    y_score = np.asarray(y_score, dtype=np.float64)
    if y_true.ndim == 1:
        y_true = y_true[:, None]
    if y_score.ndim == 1:
        y_score = y_score[:, None]
    if y_true.shape != y_score.shape:
        raise ValueError(
            f"Multi-label targets and predictions must have the same shape (N, L), received "
            f"{y_true.shape} and {y_score.shape}."
        )
    y_pred = (y_score >= threshold).astype(np.float64)
    tp = np.sum(y_true * y_pred, axis=0)
    fp = np.sum((1 - y_true) * y_pred, axis=0)
    fn = np.sum(y_true * (1 - y_pred), axis=0)
    support = np.sum(y_true, axis=0)
    precision, recall, f1 = precision_recall_f1(tp, fp, fn)
    micro = precision_recall_f1(tp.sum(), fp.sum(), fn.sum())
    num_labels = y_true.shape[1]
    aucs = np.array([roc_auc(y_true[:, j], y_score[:, j]) for j in range(num_labels)])
    aps = np.array([average_precision(y_true[:, j], y_score[:, j]) for j in range(num_labels)])

    has_samples = y_true.shape[0] > 0
    metrics = {
        "subset_accuracy": float(np.mean(np.all(y_true == y_pred, axis=1)))
        if has_samples
        else float("nan"),
        "hamming_loss": float(np.mean(y_true != y_pred)) if has_samples else float("nan"),
    }
    for i, name in enumerate(("precision", "recall", "f1")):
        values = (precision, recall, f1)[i]
        metrics[f"{name}_micro"] = float(micro[i])
        metrics[f"{name}_macro"] = float(np.mean(values))
        metrics[f"{name}_weighted"] = _weighted_mean(values, support)
    metrics["roc_auc_micro"] = roc_auc(y_true.ravel(), y_score.ravel())
    metrics["roc_auc_macro"] = _nan_mean(aucs)
    metrics["pr_auc_micro"] = average_precision(y_true.ravel(), y_score.ravel())
    metrics["pr_auc_macro"] = _nan_mean(aps)

    per_label = per_class_scores(precision, recall, f1, support, aucs, aps)
    return {"metrics": metrics, "per_label": per_label}
