"""`mmkeras predict RUN_DIR DATA --out predictions.csv`: predictions for a manifest.

One output row per manifest row, in order: `row` (its number, from 0 at the first line after
the header), `id`, the prediction columns, and `error`. A row that cannot be used keeps its
place with empty predictions and the reason in `error` (it is also listed on standard error).
"""

import os
import sys

from mmkeras.cli.arguments import check_manifest_file
from mmkeras.evaluate.manifest_predictions import path_columns, prediction_records, row_errors

HELP = "predict with a trained run: one CSV row per input row, probabilities and label"

EPILOG = """\
output columns: row (0 = first line after the header), id (the manifest's `id` column, else
the row's first file path, else the row number), the predictions (prob_<class> and predicted;
multi-label: prob_<label> and labels; regression: value), and error (empty, or why the row
could not be used: its predictions are then empty). Check a manifest first with
`mmkeras validate RUN_DIR --data DATA`.
"""


def add_arguments(parser):
    parser.epilog = EPILOG
    parser.add_argument("run_dir", help="run directory written by `mmkeras train`")
    parser.add_argument("data", help="manifest (CSV / JSONL) with the input columns")
    parser.add_argument("--out", help="CSV file to write (default: standard output)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the run's")


def _columns(pipe, name, values):
    """(header names, per-row value lists) for one output."""
    import numpy as np

    spec = pipe.specs[name]
    prefix = "" if len(pipe.target_names) == 1 else f"{name}_"
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if spec.kind == "regression":
        header = [f"{prefix}value_{i}" for i in range(values.shape[1])]
        if values.shape[1] == 1:
            header = [f"{prefix}value"]
        return header, [list(map(float, row)) for row in values]
    labels = pipe.labels if len(pipe.target_names) == 1 else pipe.labels[name]
    labels = [str(c) for c in labels]
    if spec.kind == "multilabel":
        header = [f"{prefix}prob_{c}" for c in labels] + [f"{prefix}labels"]
        rows = [
            [
                *map(float, row),
                spec.separator.join(c for c, p in zip(labels, row, strict=True) if p >= 0.5),
            ]
            for row in values
        ]
        return header, rows
    if values.shape[1] == 1:  # binary sigmoid head
        values = np.concatenate([1.0 - values, values], axis=1)
    header = [f"{prefix}prob_{c}" for c in labels] + [f"{prefix}predicted"]
    rows = [[*map(float, row), labels[int(np.argmax(row))]] for row in values]
    return header, rows


def _row_ids(pipe, records):
    """The `id` of each record: its `id` cell, else its first file path, else its row number."""
    if any("id" in record for record in records):
        return [str(record.get("id", "")) for record in records]
    columns = path_columns(pipe)
    if not columns:
        return [str(i) for i in range(len(records))]
    return [str(record.get(columns[0]) or i) for i, record in enumerate(records)]


def run(args):
    from mmkeras.cli import UsageError
    from mmkeras.cli.quiet import import_tensorflow

    if not os.path.isdir(args.run_dir):
        raise UsageError(f"{args.run_dir!r} is not a run directory or an export directory")
    check_manifest_file(args.data, "DATA")
    import_tensorflow()
    if os.path.isfile(os.path.join(args.run_dir, "saved_model.pb")):
        # An export directory (from `mmkeras export`): serve it with its own preprocessing.
        from mmkeras.export import predict_export_dir

        return predict_export_dir(args.run_dir, args.data, out=args.out, batch_size=args.batch_size)
    from mmkeras.data import read_manifest
    from mmkeras.train import Run

    run = Run.load(args.run_dir)
    kind = run.config.model.model_task
    if kind is not None:
        raise UsageError(
            f"a {kind} run makes no per-row predictions; measure it with `mmkeras evaluate "
            f"{args.run_dir} --data MANIFEST`, or serve it with `mmkeras export`"
        )
    pipe = run.pipeline
    ids = _row_ids(pipe, read_manifest(args.data, delimiter=pipe.delimiter)[0])
    records = prediction_records(pipe, args.data)
    report = pipe.validate(records)
    errors = row_errors(report)
    for row, text in errors.items():
        print(f"row {row}: {text}", file=sys.stderr)
    good = [i for i in range(len(records)) if i not in errors]
    predicted = None
    if good:
        from mmkeras.evaluate.manifest_predictions import predict_records

        predicted, _ = predict_records(
            run.model,
            pipe,
            [records[i] for i in good],
            batch_size=args.batch_size or run.config.data.batch_size,
        )

    header = ["row", "id"]
    cells = {i: [] for i in good}
    widths = 0
    for name in pipe.target_names:
        if predicted is None:
            break
        cols, values = _columns(pipe, name, predicted[name])
        header += cols
        widths += len(cols)
        for i, extra in zip(good, values, strict=True):
            cells[i].extend(extra)
    if predicted is None:
        header += _empty_header(pipe)
        widths = len(header) - 2
    header.append("error")
    rows = [
        [i, ids[i], *(cells[i] if i in cells else [""] * widths), errors.get(i, "")]
        for i in range(len(records))
    ]
    _write(args.out, header, rows)
    print(
        f"predicted {len(good)} of {len(records)} rows"
        + (
            f"; {len(errors)} could not be used (listed above, and in the `error` column)"
            if errors
            else ""
        )
        + (f"; wrote {args.out}" if args.out else ""),
        file=sys.stderr,
    )
    if not good:
        print("no row could be used; nothing to predict", file=sys.stderr)
        return 1
    return 0


def _empty_header(pipe):
    """Prediction column names when no row could be predicted (the file keeps its shape)."""
    header = []
    for name in pipe.target_names:
        size = pipe.target_size(name) or 1
        cols, _ = _columns(pipe, name, [[0.0] * size])
        header += cols
    return header


def _write(path, header, rows):
    from mmkeras.atomic_files import write_csv

    write_csv(path, header, rows)
