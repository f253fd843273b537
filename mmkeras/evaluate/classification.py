"""Single-label classification metrics in numpy.

Conventions (the same as scikit-learn's with `zero_division=0` and `labels=range(C)`):

- precision, recall and F1 are 0 where their denominator is 0 (a class never predicted has
  precision 0; a class absent from the targets has recall 0), and every class takes part in the
  macro average, including a class absent from the targets;
- ROC-AUC and PR-AUC are one-vs-rest per class. A class absent from the targets (or the only class
  present) has no defined area: its value is NaN and it is skipped in the macro and weighted
  averages (NaN only when no class has a defined area);
- top-k accuracy counts a hit when fewer than `k` classes score strictly higher than the true
  class, and is reported for k = 3 and 5 when there are more than k classes.
"""

import numpy as np

from mmkeras.evaluate.curves import average_precision, roc_auc

TOP_K = (3, 5)


def confusion_matrix(y_true, y_pred, num_classes):
    """Counts of (true class, predicted class) pairs.

    Args:
        y_true: int array `(N,)` of class indices.
        y_pred: int array `(N,)` of predicted class indices.
        num_classes: int, number of classes `C`.

    Returns:
        int64 array `(C, C)`: row = true class, column = predicted class.

    Example:
    >>> confusion_matrix([0, 1, 1], [0, 0, 1], num_classes=2)
    array([[1, 0],
           [1, 1]])
    """
    y_true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.int64).reshape(-1)
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def precision_recall_f1(tp, fp, fn):
    """Precision, recall and F1 from counts, 0 where a denominator is 0.

    Args:
        tp, fp, fn: arrays of true positive, false positive and false negative counts.

    Returns:
        `(precision, recall, f1)` float64 arrays of the same shape.
    """
    tp, fp, fn = (np.asarray(v, dtype=np.float64) for v in (tp, fp, fn))
    precision = _safe_divide(tp, tp + fp)
    recall = _safe_divide(tp, tp + fn)
    # F1 from counts (2TP / (2TP + FP + FN)) equals the harmonic mean and stays 0, not NaN,
    # when precision and recall are both 0.
    f1 = _safe_divide(2 * tp, 2 * tp + fp + fn)
    return precision, recall, f1


def top_k_accuracy(y_true, y_score, k):
    """Fraction of samples whose true class is among the `k` highest scores.

    Args:
        y_true: int array `(N,)` of class indices.
        y_score: float array `(N, C)` of scores.
        k: int, how many top classes count as a hit.

    Returns:
        float in [0, 1].
    """
    y_true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    y_score = np.asarray(y_score, dtype=np.float64)
    true_score = y_score[np.arange(y_true.size), y_true]
    higher = np.sum(y_score > true_score[:, None], axis=1)
    return float(np.mean(higher < k)) if y_true.size else float("nan")


def classification_metrics(y_true, y_score, num_classes=None):
    """All single-label classification metrics of one set of predictions.

    Args:
        y_true: int array `(N,)` of class indices.
        y_score: float array `(N, C)` of class probabilities (or any scores whose argmax is the
            prediction; the AUCs only use their order).
        num_classes: optional int; defaults to `y_score.shape[1]`.

    Returns:
        dict with `"metrics"` (accuracy, precision/recall/F1 macro and weighted, ROC-AUC and PR-AUC
        macro and weighted, top-k accuracies), `"per_class"` (a list, one dict per class with
        precision, recall, f1, support, roc_auc, pr_auc) and `"confusion_matrix"` (int array
        `(C, C)`).

    Example:
    >>> result = classification_metrics([0, 2, 1], np.eye(3)[[0, 2, 2]])
    >>> result["metrics"]["accuracy"]
    0.6666666666666666
    """
    y_true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    y_score = np.asarray(y_score, dtype=np.float64)
    if y_score.ndim != 2 or y_score.shape[0] != y_true.size:
        raise ValueError(
            f"y_score must have shape (N, C) with N = len(y_true) = {y_true.size}, "
            f"received shape {y_score.shape}."
        )
    num_classes = int(num_classes or y_score.shape[1])
    if y_true.size and (y_true.min() < 0 or y_true.max() >= num_classes):
        raise ValueError(
            f"Class indices must lie in [0, {num_classes}), received values from "
            f"{y_true.min()} to {y_true.max()}."
        )
    y_pred = np.argmax(y_score, axis=1)
    matrix = confusion_matrix(y_true, y_pred, num_classes)
    tp = np.diag(matrix)
    support = matrix.sum(axis=1)
    precision, recall, f1 = precision_recall_f1(tp, matrix.sum(axis=0) - tp, support - tp)
    one_hot = np.eye(num_classes)[y_true] if y_true.size else np.zeros((0, num_classes))
    aucs = np.array([roc_auc(one_hot[:, c], y_score[:, c]) for c in range(num_classes)])
    aps = np.array([average_precision(one_hot[:, c], y_score[:, c]) for c in range(num_classes)])

    metrics = {"accuracy": float(np.mean(y_pred == y_true)) if y_true.size else float("nan")}
    for name, values in (("precision", precision), ("recall", recall), ("f1", f1)):
        metrics[f"{name}_macro"] = float(np.mean(values))
        metrics[f"{name}_weighted"] = _weighted_mean(values, support)
    for name, values in (("roc_auc", aucs), ("pr_auc", aps)):
        metrics[f"{name}_macro"] = _nan_mean(values)
        metrics[f"{name}_weighted"] = _weighted_mean(values, support)
    for k in TOP_K:
        if num_classes > k:
            metrics[f"top_{k}_accuracy"] = top_k_accuracy(y_true, y_score, k)

    per_class = per_class_scores(precision, recall, f1, support, aucs, aps)
    return {"metrics": metrics, "per_class": per_class, "confusion_matrix": matrix}


def per_class_scores(precision, recall, f1, support, aucs, aps):
    """One dict per class (or label) of its precision, recall, F1, support, ROC-AUC and PR-AUC."""
    return [
        {
            "precision": float(precision[c]),
            "recall": float(recall[c]),
            "f1": float(f1[c]),
            "support": int(support[c]),
            "roc_auc": float(aucs[c]),
            "pr_auc": float(aps[c]),
        }
        for c in range(len(support))
    ]


def _safe_divide(numerator, denominator):
    out = np.zeros(np.broadcast(numerator, denominator).shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=np.asarray(denominator) > 0)
    return out


def _nan_mean(values):
    values = np.asarray(values, dtype=np.float64)
    defined = ~np.isnan(values)
    return float(np.mean(values[defined])) if defined.any() else float("nan")


def _weighted_mean(values, weights):
    """Support-weighted mean over the entries that are defined (not NaN)."""
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    defined = ~np.isnan(values) & (weights > 0)
    if not defined.any():
        return float("nan")
    return float(np.sum(values[defined] * weights[defined]) / np.sum(weights[defined]))
