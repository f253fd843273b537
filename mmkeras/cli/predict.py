"""`mmkeras predict RUN_DIR DATA --out predictions.csv`: predictions for a manifest."""

import csv
import io
import os
import sys

HELP = "predict with a trained run: one CSV row per input row, probabilities and label"


def add_arguments(parser):
    parser.add_argument("run_dir", help="run directory written by `mmkeras train`")
    parser.add_argument("data", help="manifest (CSV / JSONL) with the input columns")
    parser.add_argument("--out", help="CSV file to write (default: standard output)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the run's")


def _placeholder(pipe, name):
    """A valid value for target `name`: prediction manifests need not hold targets."""
    spec = pipe.specs[name]
    if spec.kind == "regression":
        return spec.separator.join(["0"] * (pipe.target_size(name) or 1))
    if spec.kind == "multilabel":
        return ""
    labels = pipe.labels if len(pipe.target_names) == 1 else pipe.labels[name]
    return labels[0]


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


def run(args):
    from mmkeras.cli import UsageError
    from mmkeras.cli.quiet import import_tensorflow

    if not os.path.isdir(args.run_dir):
        raise UsageError(f"{args.run_dir!r} is not a run directory or an export directory")
    if not os.path.isfile(args.data):
        raise UsageError(f"{args.data!r} does not exist")
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
    records, _, base_dir = read_manifest(args.data)
    for record in records:
        for name in pipe.target_names:
            record[pipe.schema[name]] = _placeholder(pipe, name)
    if pipe.root is None:
        # In-memory records resolve paths against the working directory; keep the file's.
        for record in records:
            for name in pipe.input_names:
                column = pipe.schema[name]
                value = record.get(column) if isinstance(column, str) else None
                if (
                    pipe.modality(name) in ("image", "audio")
                    and isinstance(value, str)
                    and value
                    and not os.path.isabs(value)
                ):
                    record[column] = os.path.join(base_dir, value)
    report = pipe.validate(records)
    for problem in report.problems:
        where = f" ({problem.path})" if problem.path else ""
        print(
            f"row {problem.row}: {problem.input}{where}: {problem.reason} - {problem.detail}",
            file=sys.stderr,
        )
    good = [i for i in range(len(records)) if i not in set(report.bad_rows)]
    if not good:
        print("no row could be read; nothing to predict", file=sys.stderr)
        return 1
    ds = pipe.dataset(
        records,
        training=False,
        batch_size=args.batch_size or run.config.data.batch_size,
        errors="skip",
        verbose=False,
    ).map(lambda inputs, targets: inputs)
    outputs = run.model.predict(ds, verbose=0)
    if not isinstance(outputs, dict):
        outputs = {pipe.target_names[0]: outputs}
    header, rows = ["row"], [[i] for i in good]
    for name in pipe.target_names:
        cols, values = _columns(pipe, name, outputs[name])
        header += cols
        for row, extra in zip(rows, values, strict=True):
            row.extend(extra)
    _write(args.out, header, rows)
    print(
        f"predicted {len(rows)} of {len(records)} rows"
        + (f"; {report.num_bad_rows} could not be read (listed above)" if not report.ok else "")
        + (f"; wrote {args.out}" if args.out else ""),
        file=sys.stderr,
    )
    return 0


def _write(path, header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    if path is None:
        sys.stdout.write(buffer.getvalue())
        return
    from mmkeras.train.atomic import write_text

    write_text(path, buffer.getvalue())
