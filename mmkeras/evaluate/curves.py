"""Binary ranking curves and the areas under them, in numpy.

These are the building blocks of the one-vs-rest ROC-AUC and PR-AUC in the reports and of the
curve plots. Every function takes a binary target vector (1 = positive) and a score vector where
higher means "more positive" (probabilities or logits both work: only the order matters).
"""

import numpy as np


def _binary_inputs(y_true, y_score):
    y_true = np.asarray(y_true).reshape(-1)
    y_score = np.asarray(y_score, dtype=np.float64).reshape(-1)
    if y_true.shape != y_score.shape:
        raise ValueError(
            f"y_true and y_score must have the same length, received {y_true.shape[0]} "
            f"and {y_score.shape[0]}."
        )
    return (y_true > 0.5).astype(np.float64), y_score


def _cumulative_counts(y_true, y_score):
    """True and false positives at each distinct threshold, highest threshold first."""
    order = np.argsort(-y_score, kind="mergesort")
    y_true = y_true[order]
    y_score = y_score[order]
    # A threshold sits at the last position of each run of equal scores, so tied samples
    # enter the positive side together.
    last_of_run = np.r_[np.flatnonzero(np.diff(y_score)), y_true.size - 1]
    tps = np.cumsum(y_true)[last_of_run]
    fps = (last_of_run + 1) - tps
    return tps, fps, y_score[last_of_run]


def roc_curve(y_true, y_score):
    """Receiver operating characteristic curve of a binary problem.

    Args:
        y_true: array `(N,)`, 1 for positives and 0 for negatives.
        y_score: array `(N,)`, higher means more likely positive.

    Returns:
        `(fpr, tpr, thresholds)`, each `(K + 1,)`, starting at the point `(0, 0)` (threshold
        `inf`). When there are no positives `tpr` is NaN; when there are no negatives `fpr` is NaN.

    Example:
    >>> fpr, tpr, thresholds = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fpr, tpr
    (array([0. , 0. , 0.5, 0.5, 1. ]), array([0. , 0.5, 0.5, 1. , 1. ]))
    >>> thresholds
    array([ inf, 0.8 , 0.4 , 0.35, 0.1 ])
    """
    y_true, y_score = _binary_inputs(y_true, y_score)
    if y_true.size == 0:
        return np.array([0.0]), np.array([0.0]), np.array([np.inf])
    tps, fps, thresholds = _cumulative_counts(y_true, y_score)
    tps = np.r_[0.0, tps]
    fps = np.r_[0.0, fps]
    with np.errstate(divide="ignore", invalid="ignore"):
        tpr = tps / tps[-1] if tps[-1] > 0 else np.full_like(tps, np.nan)
        fpr = fps / fps[-1] if fps[-1] > 0 else np.full_like(fps, np.nan)
    return fpr, tpr, np.r_[np.inf, thresholds]


def precision_recall_curve(y_true, y_score):
    """Precision-recall curve of a binary problem.

    Args:
        y_true: array `(N,)`, 1 for positives and 0 for negatives.
        y_score: array `(N,)`, higher means more likely positive.

    Returns:
        `(precision, recall, thresholds)`, one point per distinct score from the highest
        threshold down to the first one that reaches full recall. Recall is NaN when there are
        no positives.

    Example:
    >>> precision, recall, thresholds = precision_recall_curve([0, 1, 1], [0.2, 0.9, 0.6])
    >>> precision, recall, thresholds
    (array([1., 1.]), array([0.5, 1. ]), array([0.9, 0.6]))
    """
    y_true, y_score = _binary_inputs(y_true, y_score)
    if y_true.size == 0:
        return np.array([]), np.array([]), np.array([])
    tps, fps, thresholds = _cumulative_counts(y_true, y_score)
    if tps[-1] > 0:
        # Lower thresholds than the first one reaching full recall only add false positives:
        # they would draw a vertical drop at recall 1 and add nothing to the area.
        stop = int(np.searchsorted(tps, tps[-1])) + 1
        tps, fps, thresholds = tps[:stop], fps[:stop], thresholds[:stop]
    precision = tps / (tps + fps)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = tps / tps[-1] if tps[-1] > 0 else np.full_like(tps, np.nan)
    return precision, recall, thresholds


def roc_auc(y_true, y_score):
    """Area under the ROC curve (trapezoidal rule; ties count one half).

    Args:
        y_true: array `(N,)`, 1 for positives and 0 for negatives.
        y_score: array `(N,)`, higher means more likely positive.

    Returns:
        float in [0, 1], or NaN when the targets hold only one class (the area is undefined).

    Example:
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    fpr, tpr, _ = roc_curve(y_true, y_score)
    if np.isnan(fpr).any() or np.isnan(tpr).any():
        return float("nan")
    # Written out rather than np.trapezoid, which numpy 1.x does not have.
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def average_precision(y_true, y_score):
    """Area under the precision-recall curve as average precision.

    The sum over thresholds of precision weighted by the gain in recall at that threshold (a step
    function, no interpolation between points, which would overestimate the area).

    Args:
        y_true: array `(N,)`, 1 for positives and 0 for negatives.
        y_score: array `(N,)`, higher means more likely positive.

    Returns:
        float in [0, 1], or NaN when there are no positives (recall is undefined).

    Example:
    >>> average_precision([0, 1, 1], [0.2, 0.9, 0.6])
    1.0
    """
    precision, recall, _ = precision_recall_curve(y_true, y_score)
    if recall.size == 0 or np.isnan(recall).any():
        return float("nan")
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
