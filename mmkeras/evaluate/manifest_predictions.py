"""Predictions for the rows of a manifest, in order, with the reason of each unusable row.

`mmkeras predict` and `mk.Predictor` both read a manifest this way: rows are checked first
(`Pipeline.validate`), the usable ones are predicted, and the others keep their place with
the reason they could not be used.
"""

import os

import numpy as np


def placeholder(pipe, name):
    """A valid value for target `name`: prediction manifests need not hold targets."""
    spec = pipe.specs[name]
    if spec.kind == "regression":
        return spec.separator.join(["0"] * (pipe.target_size(name) or 1))
    if spec.kind == "multilabel":
        return ""
    labels = pipe.labels if len(pipe.target_names) == 1 else pipe.labels[name]
    return labels[0]


def path_columns(pipe):
    """Manifest columns that hold file paths (image, audio, text files), in schema order."""
    return [
        pipe.schema[name]
        for name in pipe.input_names
        if pipe.modality(name) in ("image", "audio")
        or (pipe.modality(name) == "text" and getattr(pipe.specs[name], "source", None) == "file")
    ]


def prediction_records(pipe, manifest, targets=None):
    """The records of `manifest` ready for `pipe` when they hold no targets.

    Prediction manifests need not have target columns: each target in `targets` (default: all)
    gets a valid placeholder value. File paths are made absolute against the manifest's folder
    (as `pipe` does for a manifest file), since a list of records resolves them against the
    working directory.

    Returns:
        The list of records (dicts), in the manifest's order.
    """
    from mmkeras.data import read_manifest

    records, _, base_dir = read_manifest(manifest, delimiter=pipe.delimiter)
    for record in records:
        for name in pipe.target_names if targets is None else targets:
            record[pipe.schema[name]] = placeholder(pipe, name)
    if pipe.root is None:
        columns = path_columns(pipe)
        for record in records:
            for column in columns:
                value = record.get(column)
                if isinstance(value, str) and value.strip() and not os.path.isabs(value):
                    record[column] = os.path.join(base_dir, value)
    return records


def row_errors(report):
    """`{row: "input: reason - detail (file)"}` for the rows of a validation `report`."""
    out = {}
    for p in report.problems:
        where = f" ({p.path})" if p.path else ""
        text = f"{p.input}: {p.reason} - {p.detail}{where}"
        out[p.row] = f"{out[p.row]}; {text}" if p.row in out else text
    return out


def predict_records(model, pipe, records, batch_size=32):
    """`(outputs, targets)`, each `{target name: array}`, for `records` (all usable), in order.

    Only usable rows, read with `errors="raise"`: a file that changes after validation is an
    error, never a silently shifted row. One prediction step serves every batch.
    """
    from mmkeras.evaluate.predictions import predict_batch

    ds = pipe.dataset(records, training=False, batch_size=batch_size, errors="raise", verbose=False)
    parts, target_parts = {}, {}
    names = pipe.target_names
    for inputs, targets in ds:
        for name, value in predict_batch(model, inputs).items():
            parts.setdefault(name, []).append(value)
        if not isinstance(targets, dict):
            targets = {names[0]: targets}
        for name, value in targets.items():
            target_parts.setdefault(name, []).append(np.asarray(value))
    outputs = {name: np.concatenate(values) for name, values in parts.items()}
    if len(outputs) == 1 and len(names) == 1:
        outputs = {names[0]: next(iter(outputs.values()))}
    return outputs, {name: np.concatenate(v) for name, v in target_parts.items()}
