"""Evaluation plots written as PNG files: learning curves, confusion matrix, ROC and PR curves.

matplotlib (a dependency of mmkeras) is imported inside the functions, since it is
slow to import. Figures are drawn on `matplotlib.figure.Figure` objects, which render with
the Agg backend without touching pyplot's global state, so these functions work the same in a
script, on a server without a display and in a notebook. Every function writes its file through
a temporary name and a rename, and returns the path written.
"""

import csv
import math
import os

import numpy as np

from mmkeras.atomic_files import atomic_path
from mmkeras.evaluate.curves import average_precision, precision_recall_curve, roc_auc, roc_curve

# Beyond this many classes per-class curves are drawn without legend entries and confusion
# matrix cells without numbers: the labels would overlap.
_MAX_LEGEND_CLASSES = 10
_MAX_ANNOTATED_CLASSES = 25
_LEARNING_RATE_COLUMNS = ("lr", "learning_rate")


def plot_learning_curves(csv_path, path=None, metrics=None, title="Learning curves"):
    """Plots training and validation curves from a Keras `CSVLogger` file.

    One panel per metric (`loss`, `accuracy`, ...), with the training value and, where the log
    has it, the `val_` value on the same axes; the best validation epoch is marked. A learning
    rate column is drawn on a log scale.

    Args:
        csv_path: path of the CSV log (`epoch,loss,val_loss,accuracy,...`).
        path: PNG path to write; defaults to `learning_curves.png` beside the log.
        metrics: optional list of metric names (without `val_`) to draw; default all.
        title: figure title.

    Returns:
        str, the path written.

    Raises:
        FileNotFoundError: when `csv_path` does not exist.
        ValueError: when the log has no rows or none of the requested metrics.

    Example:
    >>> mmkeras.evaluate.plot_learning_curves("runs/pets/metrics.csv")  # a CSVLogger file
    '.../runs/pets/learning_curves.png'
    """
    columns = _read_csv_log(csv_path)
    epochs = columns.pop("epoch", None)
    num_rows = len(next(iter(columns.values()))) if columns else 0
    if num_rows == 0:
        raise ValueError(f"The training log {os.fspath(csv_path)!r} has no rows to plot.")
    epochs = np.arange(1, num_rows + 1) if epochs is None else epochs + 1
    names = [n for n in columns if not n.startswith("val_")]
    names += [n[4:] for n in columns if n.startswith("val_") and n[4:] not in columns]
    if metrics is not None:
        unknown = [m for m in metrics if m not in names]
        if unknown:
            raise ValueError(
                f"`metrics` names {unknown}, which the log does not have; it has {names}."
            )
        names = list(metrics)
    if not names:
        raise ValueError(f"The training log {os.fspath(csv_path)!r} has no metric columns.")

    num_cols = min(3, len(names))
    num_panel_rows = math.ceil(len(names) / num_cols)
    fig = _figure((4.6 * num_cols, 3.4 * num_panel_rows))
    axes = np.atleast_1d(fig.subplots(num_panel_rows, num_cols, squeeze=False)).ravel()
    for ax, name in zip(axes, names, strict=False):
        lower_is_better = "loss" in name or "error" in name or name in ("mse", "mae")
        first_label = name if name in _LEARNING_RATE_COLUMNS else "training"
        for prefix, label, style in (("", first_label, "-o"), ("val_", "validation", "-s")):
            values = columns.get(prefix + name)
            if values is None:
                continue
            ax.plot(epochs, values, style, markersize=3, label=label)
            if prefix == "val_" and np.isfinite(values).any():
                best = np.nanargmin(values) if lower_is_better else np.nanargmax(values)
                ax.plot(epochs[best], values[best], "*", markersize=12, color="black")
                ax.annotate(
                    f"best {values[best]:.4g}",
                    (epochs[best], values[best]),
                    textcoords="offset points",
                    xytext=(6, 6),
                    fontsize=8,
                )
        if name in _LEARNING_RATE_COLUMNS:
            ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(title)
    if path is None:
        path = os.path.join(os.path.dirname(os.path.abspath(csv_path)), "learning_curves.png")
    return _save(fig, path)


def plot_confusion_matrix(matrix, path, labels=None, normalize=False, title=None, cmap="Blues"):
    """Plots a confusion matrix (rows: true class, columns: predicted class).

    Args:
        matrix: int array `(C, C)` of counts, e.g. `report["label"]["confusion_matrix"]`.
        path: PNG path to write.
        labels: optional list of `C` class names (default: the class indices).
        normalize: bool, divide each row by its total so cells read as the fraction of each true
            class (a class with no samples stays 0).
        title: figure title; default "Confusion matrix".
        cmap: matplotlib colour map name.

    Returns:
        str, the path written.

    Example:
    >>> matrix = mmkeras.evaluate.confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2], num_classes=3)
    >>> plot_confusion_matrix(matrix, "cm.png", labels=["cat", "dog", "fox"])
    'cm.png'
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"`matrix` must be square (C, C), received shape {matrix.shape}.")
    num_classes = matrix.shape[0]
    labels = _labels(labels, num_classes)
    if normalize:
        totals = matrix.sum(axis=1, keepdims=True)
        matrix = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    side = max(5.0, 0.45 * num_classes + 3.0)
    fig = _figure((side + 1.2, side))
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap=cmap, vmin=0, vmax=1 if normalize else None)
    colorbar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    colorbar.set_label("fraction of true class" if normalize else "samples")
    ax.set_xticks(np.arange(num_classes), labels=labels, rotation=45, ha="right")
    ax.set_yticks(np.arange(num_classes), labels=labels)
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    if num_classes <= _MAX_ANNOTATED_CLASSES:
        threshold = matrix.max() / 2 if matrix.size else 0
        fontsize = 10 if num_classes <= 10 else 7
        for i in range(num_classes):
            for j in range(num_classes):
                value = matrix[i, j]
                text = f"{value:.2f}" if normalize else f"{int(value)}"
                color = "white" if value > threshold else "black"
                ax.text(j, i, text, ha="center", va="center", color=color, fontsize=fontsize)
    default = "Confusion matrix" + (" (normalised by true class)" if normalize else "")
    ax.set_title(default if title is None else f"{title}: {default}")
    return _save(fig, path)


def plot_roc_curves(y_true, y_score, path, labels=None, title=None):
    """Plots one-vs-rest ROC curves per class and their macro average.

    The macro curve is the mean true positive rate over the classes with a defined curve, on a
    common false positive rate grid; its legend shows the macro ROC-AUC of the report (the mean of
    the per-class areas). A class absent from the targets has no curve and is listed as such.

    Args:
        y_true: class indices `(N,)` (with `y_score` `(N, C)`), or multi-hot `(N, L)`.
        y_score: probabilities `(N, C)` / `(N, L)`, or `(N,)` / `(N, 1)` for one binary output.
        path: PNG path to write.
        labels: optional class names.
        title: figure title; default "ROC curves (one-vs-rest)".

    Returns:
        str, the path written.
    """
    fig, ax = _one_vs_rest_curves(
        y_true, y_score, labels, _roc_class_curve, "AUC", "one class only", step=False
    )
    ax.plot([0, 1], [0, 1], ":", color="grey", linewidth=1, label="chance")
    _finish_curve_axes(ax, "False positive rate", "True positive rate", "lower right")
    ax.set_title(title or "ROC curves (one-vs-rest)")
    return _save(fig, path)


def plot_precision_recall_curves(y_true, y_score, path, labels=None, title=None):
    """Plots one-vs-rest precision-recall curves per class and their macro average.

    Curves are drawn as steps (as average precision measures them). The macro curve is the mean,
    over classes, of each class's interpolated precision (the best precision at that recall or
    more) on a common recall grid; its legend shows the macro PR-AUC of the report.

    Args:
        y_true: class indices `(N,)` (with `y_score` `(N, C)`), or multi-hot `(N, L)`.
        y_score: probabilities `(N, C)` / `(N, L)`, or `(N,)` / `(N, 1)` for one binary output.
        path: PNG path to write.
        labels: optional class names.
        title: figure title; default "Precision-recall curves (one-vs-rest)".

    Returns:
        str, the path written.
    """
    fig, ax = _one_vs_rest_curves(
        y_true, y_score, labels, _precision_recall_class_curve, "AP", "no positives", step=True
    )
    _finish_curve_axes(ax, "Recall", "Precision", "lower left")
    ax.set_title(title or "Precision-recall curves (one-vs-rest)")
    return _save(fig, path)


# The common x grid on which per-class curves are averaged into the macro curve.
_CURVE_GRID = np.linspace(0.0, 1.0, 201)


def _roc_class_curve(targets, scores):
    """`(area, (fpr, tpr), tpr on the grid)` of one class, or None where undefined."""
    area = roc_auc(targets, scores)
    if math.isnan(area):
        return None
    fpr, tpr, _ = roc_curve(targets, scores)
    return area, (fpr, tpr), np.interp(_CURVE_GRID, fpr, tpr)


def _precision_recall_class_curve(targets, scores):
    """`(area, (recall, precision), interpolated precision on the grid)`, or None."""
    area = average_precision(targets, scores)
    if math.isnan(area):
        return None
    precision, recall, _ = precision_recall_curve(targets, scores)
    recall = np.r_[0.0, recall]
    precision = np.r_[precision[0], precision]
    # Best precision reachable at this recall or beyond: a monotone curve to average.
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    index = np.clip(np.searchsorted(recall, _CURVE_GRID, side="left"), 0, recall.size - 1)
    return area, (recall, precision), envelope[index]


def _one_vs_rest_curves(y_true, y_score, labels, class_curve, area_name, undefined, step):
    """A figure with each class's curve (`class_curve`) and their macro average on the grid.

    Classes where `class_curve` is None are listed as undefined (`undefined` says why); with
    many classes the per-class curves are drawn grey and left out of the legend.
    """
    targets, scores = _one_vs_rest(y_true, y_score)
    labels = _labels(labels, scores.shape[1])
    fig = _figure((7.0, 6.0))
    ax = fig.subplots()
    interpolated, areas = [], []
    show_legend = scores.shape[1] <= _MAX_LEGEND_CLASSES
    for c, label in enumerate(labels):
        curve = class_curve(targets[:, c], scores[:, c])
        if curve is None:
            if show_legend:
                ax.plot([], [], " ", label=f"{label}: undefined ({undefined})")
            continue
        area, (x, y), on_grid = curve
        interpolated.append(on_grid)
        areas.append(area)
        style = {
            "linewidth": 1.2,
            "alpha": 0.8 if show_legend else 0.3,
            "color": None if show_legend else "grey",
            "label": f"{label} ({area_name} {area:.3f})" if show_legend else None,
        }
        if step:
            ax.step(x, y, where="pre", **style)
        else:
            ax.plot(x, y, **style)
    if interpolated:
        ax.plot(
            _CURVE_GRID,
            np.mean(interpolated, axis=0),
            "k--",
            linewidth=2.5,
            label=f"macro average ({area_name} {np.mean(areas):.3f})",
        )
    return fig, ax


def _figure(size):
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=100, layout="constrained")


def _save(fig, path):
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return os.fspath(path)


def _finish_curve_axes(ax, xlabel, ylabel, legend_loc):
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.05)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    ax.legend(loc=legend_loc, fontsize=8)


def _labels(labels, count):
    if labels is None:
        return [str(i) for i in range(count)]
    labels = [str(label) for label in labels]
    if len(labels) != count:
        raise ValueError(f"Expected {count} class names, received {len(labels)}: {labels}.")
    return labels


def _one_vs_rest(y_true, y_score):
    """Binary target and score columns, one per class or label."""
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=np.float64)
    if y_score.ndim == 1:
        y_score = y_score[:, None]
    y_score = y_score.reshape(len(y_score), -1)
    if y_true.ndim > 1 and y_true.reshape(len(y_true), -1).shape[1] == y_score.shape[1]:
        targets = y_true.reshape(len(y_true), -1)
    elif y_score.shape[1] == 1:
        targets = y_true.reshape(-1, 1)
    else:
        indices = y_true.reshape(-1).astype(np.int64)
        if indices.size and (indices.min() < 0 or indices.max() >= y_score.shape[1]):
            raise ValueError(
                f"Class indices must lie in [0, {y_score.shape[1]}), received values from "
                f"{indices.min()} to {indices.max()}."
            )
        targets = np.eye(y_score.shape[1])[indices]
    if len(targets) != len(y_score):
        raise ValueError(
            f"y_true and y_score must have the same number of samples, received {len(targets)} "
            f"and {len(y_score)}."
        )
    return (targets > 0.5).astype(np.float64), y_score


def _read_csv_log(csv_path):
    """Columns of a CSV log as float arrays (empty or non-numeric cells become NaN)."""
    with open(csv_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return {}
    columns = {}
    for name in rows[0]:
        if name is None:
            continue
        values = []
        for row in rows:
            try:
                values.append(float(row.get(name) or "nan"))
            except ValueError:
                values.append(float("nan"))
        columns[name.strip()] = np.asarray(values)
    return columns
