"""The evaluation report of a model: metrics per output, as a dict, JSON and a text table."""

import json
import math

import numpy as np

from mmkeras.atomic_files import write_text
from mmkeras.evaluate import task_kinds
from mmkeras.evaluate.classification import classification_metrics
from mmkeras.evaluate.multilabel import multilabel_metrics
from mmkeras.evaluate.predictions import collect_predictions
from mmkeras.evaluate.regression import regression_metrics

# A confusion matrix wider than this is left out of the text table (it stays in `to_dict`).
_MAX_TABLE_CLASSES = 20


class Report:
    """Metrics of a model on an evaluation set, one section per model output.

    Build it with `mmkeras.evaluate.report(model, dataset)` or, from predictions already made,
    `Report.from_predictions(targets, predictions)`.

    A section is a dict with `"task"` (`"classification"`, `"multilabel"` or `"regression"`),
    `"num_samples"`, `"metrics"` (a flat dict of summary numbers, e.g. `accuracy`, `f1_macro`,
    `roc_auc_macro`, `top_3_accuracy`, `mse`, `r2`) and per-class detail:

    - classification: `"labels"`, `"per_class"` (`{label: {precision, recall, f1, support,
      roc_auc, pr_auc}}`), `"confusion_matrix"` (rows: true class, columns: predicted class);
    - multi-label: `"labels"`, `"threshold"`, `"per_label"` (same keys as `per_class`);
    - regression: `"per_output"` (`{index: {mse, rmse, mae, r2}}`).

    Undefined values (e.g. the ROC-AUC of a class absent from the targets) are NaN in the
    sections and `None` in `to_dict()` / the JSON file, which must stay valid JSON.

    Args:
        sections: dict `{output name: section dict}`.
        arrays: optional dict `{output name: (targets, scores)}`, the prepared arrays the metrics
            were computed from (class indices and probabilities for classification), kept for
            plots.

    Example:
    >>> report = mmkeras.evaluate.report(model, val_ds, labels=["cat", "dog", "fox"])
    >>> print(report)
    >>> report["label"]["metrics"]["f1_macro"]
    >>> report.to_json("run/report.json")
    """

    def __init__(self, sections, arrays=None):
        self.sections = dict(sections)
        self.arrays = dict(arrays or {})

    @classmethod
    def from_predictions(cls, targets, predictions, task=None, labels=None, threshold=0.5):
        """Builds a report from targets and model outputs.

        Args:
            targets: array, or dict `{output name: array}` for several outputs.
            predictions: array, or dict `{output name: array}` with the same keys.
            task: None (inferred per output), a kind (`"classification"`, `"multilabel"`,
                `"regression"`), a task object of `mmkeras.tasks`, or a dict of those keyed by
                output name.
            labels: None, a list of class (or label) names, or a dict of lists keyed by output
                name.
            threshold: float, decision threshold of multi-label outputs.

        Returns:
            A `Report`.
        """
        if not isinstance(predictions, dict):
            predictions = {"output": predictions}
            targets = {"output": targets}
        elif not isinstance(targets, dict):
            raise ValueError(
                f"The predictions are a dict with keys {list(predictions)}: give the targets as a "
                f"dict with the same keys, received {type(targets).__name__}."
            )
        names = list(predictions)
        tasks = _per_output(task, names, "task")
        label_lists = _per_output(labels, names, "labels")
        sections, arrays = {}, {}
        for name in names:
            if name not in targets:
                raise ValueError(
                    f"No targets for output {name!r}; target keys are {sorted(targets)}."
                )
            section, prepared = _section(
                targets[name], predictions[name], tasks[name], label_lists[name], threshold, name
            )
            sections[name] = section
            arrays[name] = prepared
        return cls(sections, arrays)

    def __getitem__(self, name):
        return self.sections[name]

    def __iter__(self):
        return iter(self.sections)

    def __len__(self):
        return len(self.sections)

    def to_dict(self):
        """The report as plain JSON-ready Python types (`{"outputs": {name: section}}`)."""
        return {"outputs": _jsonable(self.sections)}

    def to_json(self, path):
        """Writes `to_dict()` as JSON to `path` (temporary file, then rename) and returns `path`."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        return write_text(path, text + "\n")

    def table(self):
        """The report as a readable text table, one block per output."""
        return "\n\n".join(_section_table(name, s) for name, s in self.sections.items())

    def __str__(self):
        return self.table()

    def __repr__(self):
        kinds = ", ".join(f"{name}: {s['task']}" for name, s in self.sections.items())
        return f"<Report {kinds}>"

    def save_plots(self, directory):
        """Writes the usual plots of every classification and multi-label output as PNG files.

        Confusion matrices (counts and row-normalised; classification only), ROC curves and
        precision-recall curves, named `<output>_<plot>.png`.

        Args:
            directory: str or path, created if needed.

        Returns:
            list of the paths written.
        """
        import os

        from mmkeras.evaluate import plots

        written = []
        for name, section in self.sections.items():
            if section["task"] == task_kinds.REGRESSION or name not in self.arrays:
                continue
            y_true, y_score = self.arrays[name]
            labels = section["labels"]
            stem = os.path.join(os.fspath(directory), name)
            if section["task"] == task_kinds.CLASSIFICATION:
                matrix = np.asarray(section["confusion_matrix"])
                written.append(
                    plots.plot_confusion_matrix(
                        matrix, f"{stem}_confusion_matrix.png", labels=labels, title=name
                    )
                )
                written.append(
                    plots.plot_confusion_matrix(
                        matrix,
                        f"{stem}_confusion_matrix_normalized.png",
                        labels=labels,
                        normalize=True,
                        title=name,
                    )
                )
            written.append(
                plots.plot_roc_curves(y_true, y_score, f"{stem}_roc.png", labels=labels, title=name)
            )
            written.append(
                plots.plot_precision_recall_curves(
                    y_true, y_score, f"{stem}_precision_recall.png", labels=labels, title=name
                )
            )
        return written


def report(model, dataset, task=None, labels=None, threshold=0.5, batch_size=256):
    """Evaluates `model` on `dataset` and returns a `Report`.

    Classification outputs get accuracy; precision, recall and F1 per class, macro and weighted;
    one-vs-rest ROC-AUC and PR-AUC (average precision) per class, macro and weighted; the
    confusion matrix; top-3 and top-5 accuracy when there are more classes than k. Multi-label
    outputs get the per-label versions with micro, macro and weighted averages, subset accuracy and
    Hamming loss. Regression outputs get MSE, RMSE, MAE and R2. A multi-task model (dict outputs)
    gets one section per output. Sample weights in the data are ignored. See
    `mmkeras.evaluate.classification_metrics` for how edge cases (a class never predicted, a class
    absent from the targets) are defined.

    Args:
        model: a Keras model.
        dataset: a batched `tf.data.Dataset` (or iterable of batches) of `(inputs, targets)`, or a
            tuple of arrays `(x, y)`. For several outputs the targets are a dict keyed by output
            name. A `"present"` input the model takes but the data lacks is filled with ones.
        task: None (inferred from targets and outputs), `"classification"`, `"multilabel"`,
            `"regression"`, a task object of `mmkeras.tasks`, or a dict of those keyed by output
            name.
        labels: None (class indices as names), a list of class names, or a dict of lists keyed
            by output name.
        threshold: float, decision threshold of multi-label outputs.
        batch_size: int, batch size when `dataset` is a tuple of arrays.

    Returns:
        A `Report`.

    Example:
    >>> report = mmkeras.evaluate.report(model, val_ds, labels=["cat", "dog"])
    >>> print(report.table())
    """
    predictions, targets = collect_predictions(model, dataset, batch_size=batch_size)
    return Report.from_predictions(targets, predictions, task, labels, threshold)


def _per_output(value, names, what):
    """Spreads a per-output argument (one value, or a dict keyed by output name) over `names`."""
    if isinstance(value, dict):
        unknown = [key for key in value if key not in names]
        if unknown:
            raise ValueError(
                f"`{what}` names output(s) {unknown} the model does not have; its outputs are "
                f"{names}."
            )
        return {name: value.get(name) for name in names}
    if what == "labels" and value is not None and len(names) > 1:
        raise ValueError(
            f"The model has {len(names)} outputs {names}: give `labels` as a dict keyed by "
            f"output name, received {value!r}."
        )
    return {name: value for name in names}


def _section(y_true, y_score, task, labels, threshold, name):
    kind = task_kinds.normalize_task_kind(task) or task_kinds.infer_task_kind(y_true, y_score)
    labels = labels or task_kinds.task_labels(task)
    num_samples = int(len(y_score))
    if len(y_true) != num_samples:
        raise ValueError(f"Output {name!r}: {num_samples} predictions but {len(y_true)} targets.")
    if kind == task_kinds.CLASSIFICATION:
        y_true, y_score, from_logits = task_kinds.prepare_classification(y_true, y_score)
        labels = _check_labels(labels, y_score.shape[1], name)
        result = classification_metrics(y_true, y_score, num_classes=len(labels))
        section = {
            "task": kind,
            "num_samples": num_samples,
            "labels": labels,
            "from_logits": from_logits,
            "metrics": result["metrics"],
            "per_class": dict(zip(labels, result["per_class"], strict=True)),
            "confusion_matrix": result["confusion_matrix"].tolist(),
        }
    elif kind == task_kinds.MULTILABEL:
        y_true, y_score, from_logits = task_kinds.prepare_multilabel(y_true, y_score)
        labels = _check_labels(labels, y_score.shape[1], name)
        result = multilabel_metrics(y_true, y_score, threshold=threshold)
        section = {
            "task": kind,
            "num_samples": num_samples,
            "labels": labels,
            "threshold": float(threshold),
            "from_logits": from_logits,
            "metrics": result["metrics"],
            "per_label": dict(zip(labels, result["per_label"], strict=True)),
        }
    else:
        result = regression_metrics(y_true, y_score)
        section = {
            "task": kind,
            "num_samples": num_samples,
            "metrics": result["metrics"],
            "per_output": {str(i): values for i, values in enumerate(result["per_output"])},
        }
    return section, (np.asarray(y_true), np.asarray(y_score))


def _check_labels(labels, num_classes, name):
    if labels is None:
        return [str(i) for i in range(num_classes)]
    labels = [str(label) for label in labels]
    if len(labels) != num_classes:
        raise ValueError(
            f"Output {name!r} has {num_classes} classes but `labels` has {len(labels)} names: "
            f"{labels}."
        )
    if len(set(labels)) != len(labels):
        raise ValueError(f"`labels` of output {name!r} must be distinct, received {labels}.")
    return labels


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    return value


def _number(value):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(value)
    return "n/a" if value is None or math.isnan(value) else f"{value:.4f}"


def _grid(header, rows):
    """Left-aligned first column, right-aligned others."""
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = []
    for row in table:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


def _section_table(name, section):
    lines = [f"{name}: {section['task']}, {section['num_samples']} samples"]
    lines += _grid(["metric", "value"], [[k, _number(v)] for k, v in section["metrics"].items()])
    detail_key = {"classification": "per_class", "multilabel": "per_label"}.get(section["task"])
    if detail_key:
        columns = ["precision", "recall", "f1", "support", "roc_auc", "pr_auc"]
        first = "class" if detail_key == "per_class" else "label"
        rows = [
            [label, *(_number(values[c]) for c in columns)]
            for label, values in section[detail_key].items()
        ]
        lines += [""] + _grid([first, *columns], rows)
    elif len(section["per_output"]) > 1:
        columns = ["mse", "rmse", "mae", "r2"]
        rows = [[i, *(_number(v[c]) for c in columns)] for i, v in section["per_output"].items()]
        lines += [""] + _grid(["output", *columns], rows)
    if "confusion_matrix" in section:
        labels = section["labels"]
        if len(labels) <= _MAX_TABLE_CLASSES:
            lines += ["", "  confusion matrix (rows: true class, columns: predicted class)"]
            rows = [
                [label, *(str(c) for c in row)]
                for label, row in zip(labels, section["confusion_matrix"], strict=True)
            ]
            lines += _grid(["", *labels], rows)
        else:
            lines += ["", f"  confusion matrix: {len(labels)} classes, see to_dict()"]
    return "\n".join(lines)
