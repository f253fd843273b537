"""`predict_export_dir`: `mmkeras predict` on an export directory instead of a run directory."""

import os
import sys

import numpy as np

from mmkeras.atomic_files import write_csv
from mmkeras.export.predictor import load


def is_export_dir(path):
    """True when `path` is a directory written by `mmkeras.export.saved_model`."""
    path = os.fspath(path)
    return os.path.isfile(os.path.join(path, "saved_model.pb")) and os.path.isfile(
        os.path.join(path, "metadata.json")
    )


def _head_columns(head, outputs):
    """(header names, per-row value lists) of one task, in `mmkeras predict`'s format."""
    p = head.prefix
    if head.kind == "regression":
        values = np.asarray(outputs[f"{p}values"], np.float64).reshape(
            len(outputs[f"{p}values"]), -1
        )
        header = (
            [f"{p}value"]
            if values.shape[1] == 1
            else [f"{p}value_{i}" for i in range(values.shape[1])]
        )
        return header, [list(map(float, row)) for row in values]
    probs = np.asarray(outputs[f"{p}probabilities"], np.float64)
    if head.kind == "binary":
        probs = np.concatenate([1.0 - probs[:, :1], probs[:, :1]], axis=1)
    header = [f"{p}prob_{c}" for c in head.class_names]
    if head.kind == "multilabel":
        labels = outputs[f"{p}labels"]
        return header + [f"{p}labels"], [
            [*map(float, row), str(lab)] for row, lab in zip(probs, labels, strict=True)
        ]
    labels = outputs[f"{p}label"]
    return header + [f"{p}predicted"], [
        [*map(float, row), str(lab)] for row, lab in zip(probs, labels, strict=True)
    ]


def _row_ids(records, inputs_meta):
    """The `id` of each record: its `id` cell, else its first file path, else its row number."""
    if any("id" in record for record in records):
        return [str(record.get("id", "")) for record in records]
    files = [e["column"] for e in inputs_meta.values() if e.get("modality") in ("image", "audio")]
    if not files:
        return [str(i) for i in range(len(records))]
    return [str(record.get(files[0]) or i) for i, record in enumerate(records)]


def predict_export_dir(export_dir, data, out=None, batch_size=None):
    """Predicts a manifest with an exported model and writes one CSV row per manifest row.

    The CSV has the columns `mmkeras predict` writes for a run directory: `row` (from 0 at the
    first line after the header), `id` (the manifest's `id` column, else the row's first file
    path, else the row number), then per task `prob_<class>` and `predicted` (classification),
    `prob_<label>` and `labels` (multi-label) or `value` (regression), prefixed by the task name
    when there are several tasks, and `error`. A row that cannot be read or served keeps its
    place with empty predictions and the reason in `error`; it is also listed on standard error.

    Args:
        export_dir: directory written by `mmkeras export` / `mmkeras.export.saved_model`.
        data: manifest (CSV / JSONL) with the input columns of the training schema.
        out: CSV file to write (atomically), or None for standard output.
        batch_size: examples per call of the SavedModel (default 32).

    Returns:
        Exit code: 0 when some rows were predicted, 1 when none could be.
    """
    from mmkeras.data import read_manifest

    predictor = load(export_dir)
    result = predictor.predict_manifest(data, batch_size=batch_size or 32)
    errors = dict(result["problems"])
    for row, reason in result["problems"]:
        print(f"row {row}: {reason}", file=sys.stderr)
    inputs_meta = predictor.metadata["signatures"]["serving_default"]["inputs"]
    ids = _row_ids(read_manifest(data)[0], inputs_meta)
    header, cells, width = ["row", "id"], {i: [] for i in result["rows"]}, 0
    for head in predictor.heads:
        if not result["rows"]:
            break
        columns, values = _head_columns(head, result["outputs"])
        header += columns
        width += len(columns)
        for i, extra in zip(result["rows"], values, strict=True):
            cells[i].extend(extra)
    header.append("error")
    rows = [
        [i, ids[i], *(cells[i] if i in cells else [""] * width), errors.get(i, "")]
        for i in range(result["num_rows"])
    ]
    write_csv(out, header, rows)
    total = result["num_rows"]
    bad = total - len(result["rows"])
    print(
        f"predicted {len(result['rows'])} of {total} rows"
        + (f"; {bad} could not be used (listed above, and in the `error` column)" if bad else "")
        + (f"; wrote {out}" if out else ""),
        file=sys.stderr,
    )
    if not result["rows"]:
        print("no row could be read; nothing to predict", file=sys.stderr)
        return 1
    return 0
