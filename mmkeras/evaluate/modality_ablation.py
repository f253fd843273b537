"""Modality ablation: how much a multimodal model relies on each of its inputs.

A model built by `mmkeras.build_model` takes an optional input `"present"` `(B, M)` float32, 1.0
where a modality is present. Ablation switches modalities off through that mask (the fusion layer
then excludes them) rather than by feeding zeros, which a model would see as real, if odd, data.

The `M` columns of `"present"` follow the order of the branch inputs. That order is read from the
model: `model.input` keeps the dict the model was built with, in insertion order (also after
saving and loading), and the modalities are its keys other than `"present"`. (`model.inputs` is
sorted by name and cannot be used.) Pass `modalities=[...]` to state the order yourself, e.g. for
a model whose inputs include more than its branch inputs.
"""

import json
import math
import weakref

import keras
import numpy as np

from mmkeras.atomic_files import write_text
from mmkeras.evaluate import task_kinds
from mmkeras.evaluate.metrics_report import Report
from mmkeras.evaluate.predictions import (
    iterate_batches,
    model_input_names,
    name_outputs,
    predict_batch,
    prediction_step,
    select_model_inputs,
)

PRESENT = "present"
FUSION_LAYER = "fusion"
# {model: model of (its outputs, fusion attention weights)}, made once per model so that its
# prediction step is traced once however often the model is ablated.
_WITH_ATTENTION = weakref.WeakKeyDictionary()
_DEFAULT_METRICS = {
    task_kinds.CLASSIFICATION: "accuracy",
    task_kinds.MULTILABEL: "f1_micro",
    task_kinds.REGRESSION: "mse",
}


class AblationReport:
    """The metric of a model with all modalities, each one removed, and each one alone.

    Each row is a dict with `"setting"` (`"all modalities"`, `"without <m>"`, `"only <m>"`),
    `"present"` (the modalities switched on), `"value"` (the metric), `"change"` (value minus the
    value with all modalities) and, when the model has an attention fusion layer, `"attention"`
    (`{modality: mean attention weight over the samples}`).

    Args:
        rows: list of row dicts as above.
        metric: str, name of the metric.
        modalities: list of modality names, in the order of the `"present"` columns.
        output: str, the model output the metric was computed on.
        num_samples: int, samples evaluated.

    Example:
    >>> result = mmkeras.evaluate.ablation(model, val_ds)
    >>> print(result)
    >>> result["without image"]["value"]
    """

    def __init__(self, rows, metric, modalities, output, num_samples):
        self.rows = list(rows)
        self.metric = metric
        self.modalities = list(modalities)
        self.output = output
        self.num_samples = int(num_samples)

    @property
    def has_attention(self):
        """True when the rows carry mean attention weights."""
        return any("attention" in row for row in self.rows)

    def __getitem__(self, setting):
        for row in self.rows:
            if row["setting"] == setting:
                return row
        raise KeyError(f"No setting {setting!r}; settings are {[r['setting'] for r in self.rows]}.")

    def to_dict(self):
        """The result as plain JSON-ready Python types (undefined values are `None`)."""

        def clean(value):
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, list):
                return [clean(v) for v in value]
            if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
                return None
            return value

        return clean(
            {
                "metric": self.metric,
                "output": self.output,
                "num_samples": self.num_samples,
                "modalities": self.modalities,
                "rows": self.rows,
            }
        )

    def to_json(self, path):
        """Writes `to_dict()` as JSON to `path` (temporary file, then rename) and returns `path`."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        return write_text(path, text + "\n")

    def table(self):
        """The result as a readable text table."""
        header = ["setting", "present", self.metric, "change"]
        if self.has_attention:
            header += [f"attention {m}" for m in self.modalities]
        rows = []
        for row in self.rows:
            cells = [
                row["setting"],
                ", ".join(row["present"]) or "(none)",
                _number(row["value"]),
                _number(row["change"], signed=True),
            ]
            if self.has_attention:
                cells += [_number(row.get("attention", {}).get(m)) for m in self.modalities]
            rows.append(cells)
        table = [header, *rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(header))]
        lines = [
            f"modality ablation: output {self.output!r}, metric {self.metric}, "
            f"{self.num_samples} samples"
        ]
        for r in table:
            cells = [c.ljust(w) for c, w in zip(r[:2], widths[:2], strict=True)]
            cells += [c.rjust(w) for c, w in zip(r[2:], widths[2:], strict=True)]
            lines.append("  " + "  ".join(cells).rstrip())
        return "\n".join(lines)

    def __str__(self):
        return self.table()

    def __repr__(self):
        return f"<AblationReport {self.metric} over {self.modalities}>"


def ablation(model, dataset, modalities=None, metric=None, output=None, task=None, batch_size=256):
    """Evaluates `model` with all modalities, with each one removed, and with each one alone.

    Modalities are removed through the model's `"present"` input (see the module docstring). If
    the data already provides `"present"` (samples with missing modalities), the ablation mask is
    multiplied into it. When the model has a layer named `"fusion"` whose output is a pair
    `(fused, weights)` with weights `(B, M)` (what `build_model` makes of `AttentionFusion`), the
    mean attention weight per modality is reported beside the metric; otherwise that column is
    left out.

    Args:
        model: a Keras model with a `"present"` input.
        dataset: a batched `tf.data.Dataset` (or iterable of batches) of `(inputs, targets)` with
            dict inputs, or a tuple of arrays `(x, y)` with `x` a dict.
        modalities: optional list of the modality names in the order of the `"present"` columns;
            default: the model's input names other than `"present"`, in the order they were given.
        metric: a key of the report's `metrics` (e.g. `"accuracy"`, `"f1_macro"`,
            `"roc_auc_macro"`, `"mse"`), or a callable `(y_true, y_pred) -> float` on the raw
            targets and outputs. Default: accuracy for classification, `f1_micro` for multi-label,
            `mse` for regression.
        output: the output to score, for a model with several; default its first output.
        task: as in `mmkeras.evaluate.report` (for the chosen output); default inferred.
        batch_size: int, batch size when `dataset` is a tuple of arrays.

    Returns:
        An `AblationReport`.

    Raises:
        ValueError: when the model has no `"present"` input, the modality names do not match it,
            the data is not a dict of inputs, or `metric` / `output` is unknown.

    Example:
    >>> print(mmkeras.evaluate.ablation(model, val_ds))
    """
    input_names = model_input_names(model)
    if PRESENT not in input_names:
        raise ValueError(
            f"Modality ablation switches modalities off through the model input {PRESENT!r} "
            f"(B, M), but this model's inputs are {input_names}. Build the model with "
            "mmkeras.build_model, or add a presence-mask input named 'present'."
        )
    modalities = _modality_order(model, input_names, modalities)
    settings = _settings(modalities)
    with_attention = _with_attention(model, len(modalities))

    predictions = {mask: [] for mask in dict.fromkeys(mask for _, mask in settings)}
    attention = {mask: [] for mask in predictions}
    targets = []
    output_name = output
    for inputs, batch_targets in iterate_batches(dataset, batch_size):
        if not isinstance(inputs, dict):
            raise ValueError(
                "Modality ablation needs the inputs as a dict keyed by input name, received "
                f"{type(inputs).__name__}."
            )
        inputs = select_model_inputs(model, inputs)
        base = np.asarray(inputs[PRESENT], dtype="float32")
        for mask in predictions:
            masked = {**inputs, PRESENT: base * np.asarray(mask, dtype="float32")}
            if with_attention is None:
                outputs = predict_batch(model, masked)
            else:
                # One call gives both: the attention weights come from the same forward pass.
                outputs, weights = prediction_step(with_attention)(masked)
                outputs = name_outputs(model, outputs)
                attention[mask].append(np.asarray(weights, dtype=np.float64))
            if output_name is None:
                output_name = next(iter(outputs))
            if output_name not in outputs:
                raise ValueError(f"Unknown `output` {output_name!r}; outputs are {list(outputs)}.")
            predictions[mask].append(outputs[output_name])
        targets.append(_pick_target(batch_targets, output_name))
    if not targets:
        raise ValueError("The evaluation data holds no batch: nothing to evaluate.")
    targets = np.concatenate(targets)

    scores = {}
    for mask, parts in predictions.items():
        scores[mask] = _score(targets, np.concatenate(parts), metric, task, output_name)
    metric_name = metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")
    if metric is None:
        metric_name = next(iter(scores.values()))[1]
    reference = scores[settings[0][1]][0]
    rows = []
    for setting, mask in settings:
        value = scores[mask][0]
        row = {
            "setting": setting,
            "present": [m for m, on in zip(modalities, mask, strict=True) if on],
            "value": value,
            "change": value - reference,
        }
        if with_attention is not None:
            mean = np.concatenate(attention[mask]).mean(axis=0)
            row["attention"] = {m: float(w) for m, w in zip(modalities, mean, strict=True)}
        rows.append(row)
    return AblationReport(rows, metric_name, modalities, output_name, len(targets))


def _modality_order(model, input_names, modalities):
    present_shape = model.input[PRESENT].shape if isinstance(model.input, dict) else None
    num_columns = present_shape[-1] if present_shape is not None else None
    if modalities is None:
        modalities = [name for name in input_names if name != PRESENT]
        if num_columns is not None and len(modalities) != num_columns:
            raise ValueError(
                f"The model's {PRESENT!r} input has {num_columns} columns but it has "
                f"{len(modalities)} other inputs {modalities}: pass `modalities=[...]` with the "
                "name of each column, in order."
            )
        return modalities
    modalities = [str(m) for m in modalities]
    if len(set(modalities)) != len(modalities):
        raise ValueError(f"`modalities` must be distinct names, received {modalities}.")
    if num_columns is not None and len(modalities) != num_columns:
        raise ValueError(
            f"`modalities` has {len(modalities)} names {modalities} but the model's {PRESENT!r} "
            f"input has {num_columns} columns."
        )
    return modalities


def _settings(modalities):
    """`(label, mask)` pairs: all, each removed, each alone (a lone modality only once)."""
    count = len(modalities)
    settings = [("all modalities", (1,) * count)]
    for i, name in enumerate(modalities):
        settings.append((f"without {name}", tuple(int(j != i) for j in range(count))))
    if count > 1:
        for i, name in enumerate(modalities):
            settings.append((f"only {name}", tuple(int(j == i) for j in range(count))))
    return settings


def _with_attention(model, num_modalities):
    """A model from the inputs to `[outputs, fusion attention weights (B, M)]`, or None.

    Made once per model (see `_WITH_ATTENTION`); it shares the model's layers and weights.
    """
    if model in _WITH_ATTENTION:
        return _WITH_ATTENTION[model]
    try:
        fused_output = model.get_layer(FUSION_LAYER).output
    except (ValueError, AttributeError):
        # No layer of that name, or one called more than once (no single output to read).
        fused_output = None
    combined = None
    if isinstance(fused_output, (list, tuple)) and len(fused_output) == 2:
        weights = fused_output[1]
        if len(weights.shape) == 2 and weights.shape[-1] == num_modalities:
            combined = keras.Model(model.input, [model.output, weights])
    _WITH_ATTENTION[model] = combined
    return combined


def _pick_target(targets, output_name):
    if isinstance(targets, dict):
        if output_name not in targets:
            raise ValueError(
                f"The targets have no entry for output {output_name!r}; keys: {sorted(targets)}."
            )
        return np.asarray(targets[output_name])
    if isinstance(targets, (list, tuple)):
        raise ValueError("Give the targets of a multi-output model as a dict keyed by output name.")
    return np.asarray(targets)


def _score(targets, predictions, metric, task, output_name):
    """Returns `(value, metric name)`."""
    if callable(metric):
        return float(metric(targets, predictions)), getattr(metric, "__name__", "metric")
    section = Report.from_predictions(
        {output_name: targets}, {output_name: predictions}, task=task
    )[output_name]
    name = metric or _DEFAULT_METRICS[section["task"]]
    if name not in section["metrics"]:
        raise ValueError(
            f"Unknown `metric` {name!r} for a {section['task']} output; available: "
            f"{sorted(section['metrics'])}, or a callable (y_true, y_pred) -> float."
        )
    return float(section["metrics"][name]), name


def _number(value, signed=False):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:+.4f}" if signed else f"{value:.4f}"
