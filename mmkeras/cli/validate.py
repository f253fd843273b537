"""`mmkeras validate`: the manifest rows training would reject, and what it would infer."""

import argparse
import collections
import math
import os

from mmkeras.cli.arguments import check_manifest_file

HELP = (
    "check manifests before training: unusable rows (row number and reason), classes with "
    "counts, vocabulary size, input shapes"
)

DESCRIPTION = """\
Checks every row of a manifest as training reads it (files exist and their headers are sound,
texts are UTF-8 and not empty, numbers are finite, labels are known) and lists each unusable
row with its row number and reason. Then prints what training infers from the data: the
classes (with counts per manifest), the vocabulary size and the shape of each input.

Three ways to call it:

  mmkeras validate CONFIG.yaml
      every manifest the config names (data.train, data.validation, data.test); classes and
      vocabulary are learned from data.train, as training does

  mmkeras validate CONFIG.yaml --data new.csv
      another manifest, read with the columns and settings of the config

  mmkeras validate RUN_DIR --data new.csv     (the same: mmkeras validate new.csv --schema RUN_DIR)
      a manifest for a trained run (a folder written by `mmkeras train`): the run's saved
      pipeline gives the columns, classes and vocabulary, so a label the run never saw is
      reported as unknown. RUN_DIR alone checks the manifests of the run's config.

A manifest given alone needs --schema CONFIG.yaml or --schema RUN_DIR: a CSV file does not say
which column is an image, a text or the label. A manifest without the label column (data to
predict) has its inputs checked, as `mmkeras predict` reads it.

Row numbers count from 0 at the first line after the CSV header (the first record of a JSONL
file), as in the messages of training, `mmkeras evaluate` and `mmkeras predict`.
"""

EPILOG = """\
exit status: 0 every row is usable; 1 some rows are unusable, or a manifest cannot be read;
2 usage or configuration error.
"""

MANIFEST_EXTENSIONS = (".csv", ".tsv", ".jsonl", ".json")
CONFIG_EXTENSIONS = (".yaml", ".yml")
SPLITS = ("train", "validation", "test")


def add_arguments(parser):
    parser.description = DESCRIPTION
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "source",
        metavar="CONFIG_OR_RUN_DIR_OR_MANIFEST",
        help="a YAML run config, a run directory, or a manifest (.csv .tsv .jsonl .json)",
    )
    parser.add_argument(
        "--data",
        action="append",
        metavar="MANIFEST",
        help="check this manifest instead of the ones the config names (repeatable)",
    )
    parser.add_argument(
        "--schema",
        metavar="CONFIG_OR_RUN_DIR",
        help="how to read a manifest given as the first argument: a YAML run config or a run "
        "directory",
    )
    parser.add_argument(
        "--deep",
        action="store_true",
        help="also decode every image (finds damage inside the compressed data that the file "
        "header does not show; slower)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=50,
        metavar="N",
        help="list at most N unusable rows per manifest (default 50; 0 lists them all)",
    )


def _kind(path, what):
    """`"config"`, `"run"` or `"manifest"`; a usage error for anything else."""
    from mmkeras.cli import UsageError

    if os.path.isdir(path):
        if os.path.isdir(os.path.join(path, "pipeline")):
            return "run"
        raise UsageError(
            f"{what} {path!r} is a folder but not a run directory (it has no pipeline/ folder, "
            "which `mmkeras train` writes)"
        )
    if not os.path.isfile(path):
        raise UsageError(f"{what} {path!r} does not exist")
    ext = os.path.splitext(path)[1].lower()
    if ext in CONFIG_EXTENSIONS:
        return "config"
    if ext in MANIFEST_EXTENSIONS:
        return "manifest"
    raise UsageError(
        f"{what} {path!r}: expected a YAML run config ({', '.join(CONFIG_EXTENSIONS)}), a run "
        f"directory or a manifest ({', '.join(MANIFEST_EXTENSIONS)})"
    )


def _plan(args):
    """`(setup path, its kind, manifests to check as [(label, path)] or None for the splits)`."""
    from mmkeras.cli import UsageError

    kind = _kind(args.source, "the first argument")
    if kind == "manifest":
        if args.schema is None:
            raise UsageError(
                f"{args.source!r} is a manifest: say how to read it with --schema CONFIG.yaml "
                "(a run config) or --schema RUN_DIR (a trained run)"
            )
        if args.data:
            raise UsageError(
                "give the manifest either as the first argument (with --schema) or with --data "
                "(after a config or run directory), not both"
            )
        setup_kind = _kind(args.schema, "--schema")
        if setup_kind == "manifest":
            raise UsageError(
                f"--schema {args.schema!r} must be a YAML run config or a run directory"
            )
        return args.schema, setup_kind, _labelled([args.source])
    if args.schema is not None:
        raise UsageError(
            f"--schema reads a manifest given as the first argument; {args.source!r} already "
            "describes the data (add the manifest with --data FILE)"
        )
    manifests = None
    if args.data:
        for path in args.data:
            check_manifest_file(path, "--data")
        manifests = _labelled(args.data)
    return args.source, kind, manifests


def _labelled(paths):
    """`[(label, path)]`, labelled by file name (made unique)."""
    out, seen = [], collections.Counter()
    for path in paths:
        label = os.path.basename(path)
        seen[label] += 1
        out.append((label if seen[label] == 1 else f"{label} ({seen[label]})", path))
    return out


def _split_manifests(config):
    from mmkeras.train.builders import resolve_path

    out = []
    for split in SPLITS:
        path = getattr(config.data, split)
        if path is not None:
            out.append((split, resolve_path(config, path)))
    return out


def _from_config(path):
    """`(config, adapted pipeline, report of adapting on data.train or None)`."""
    from mmkeras.cli import UsageError
    from mmkeras.config import load
    from mmkeras.data import DataValidationError
    from mmkeras.train.builders import build_pipeline, resolve_path

    config = load(path)
    pipe = build_pipeline(config)
    train = resolve_path(config, config.data.train)
    if not os.path.isfile(train):
        raise UsageError(
            f"data.train: {config.data.train!r} does not exist (looked for {train}; relative "
            "paths start from the config file's folder)"
        )
    try:
        pipe.adapt(train)
    except DataValidationError as e:
        return config, pipe, e.report
    return config, pipe, None


def _from_run(run_dir):
    from mmkeras.config import load
    from mmkeras.data import Pipeline

    pipe = Pipeline.load(os.path.join(run_dir, "pipeline"))
    config_path = os.path.join(run_dir, "config.yaml")
    config = load(config_path) if os.path.isfile(config_path) else None
    return config, pipe


def run(args):
    from mmkeras.cli import UsageError
    from mmkeras.cli.predict import prediction_records
    from mmkeras.cli.quiet import import_tensorflow

    if args.limit < 0:
        raise UsageError(f"--limit must be 0 (all) or more, received {args.limit}")
    setup, kind, manifests = _plan(args)
    import_tensorflow()
    if kind == "config":
        config, pipe, failed_adapt = _from_config(setup)
    else:
        (config, pipe), failed_adapt = _from_run(setup), None
    if manifests is None:
        if config is None:
            raise UsageError(f"{setup!r} has no config.yaml naming its manifests; add --data FILE")
        manifests = _split_manifests(config)
    if failed_adapt is not None:
        # Training stops here too: nothing to learn classes or a vocabulary from.
        print(f"data.train: no usable row, so training cannot start.\n{failed_adapt}")
        _advise(failed_adapt.num_bad_rows, failed_adapt.num_rows, kind, setup)
        return 1

    print("manifests (rows count from 0 at the first line after the header):")
    reports, counts, unreadable = [], {}, []
    width = max(len(label) for label, _ in manifests)
    for label, path in manifests:
        # A split is named beside its file; a manifest from the command line by its file alone.
        name = f"{label:<{width}}  {_shown(path)}" if label in SPLITS else _shown(path)
        try:
            without = _absent_targets(pipe, path)
            source = prediction_records(pipe, path, without) if without else path
            report = pipe.validate(source, deep=args.deep)
        except (ValueError, FileNotFoundError, UnicodeError) as e:
            print(f"  {name}: cannot be read: {e}")
            unreadable.append(path)
            continue
        reports.append(report)
        counts[label] = _target_counts(pipe, path, report, without)
        state = "all usable" if report.ok else f"{report.num_bad_rows} unusable"
        if not report.ok:
            state += f" ({_by_reason(report)})"
        if without:
            # A manifest to predict: its inputs are checked, as `mmkeras predict` reads them.
            state += f"; no column for target(s) {', '.join(map(repr, without))}: inputs only"
        print(f"  {name}: {report.num_rows} rows, {state}")
        _print_problems(report, path, args.limit)

    print()
    _print_inputs(pipe)
    _print_targets(pipe, counts)
    if kind == "config":
        # Training fits the model section to the data next; its errors are config errors.
        from mmkeras.train.builders import resolve_config

        resolve_config(config, pipe)

    num_rows = sum(r.num_rows for r in reports)
    num_bad = sum(r.num_bad_rows for r in reports)
    print()
    if unreadable:
        print(f"{len(unreadable)} manifest(s) cannot be read (see above).")
    if num_bad:
        _advise(num_bad, num_rows, kind, setup)
    if unreadable or num_bad:
        return 1
    print(f"all {num_rows} rows of {len(reports)} manifest(s) are usable.")
    return 0


def _advise(num_bad, num_rows, kind, setup):
    config = setup if kind == "config" else "the run's config"
    print(
        f"{num_bad} of {num_rows} rows cannot be used (listed above). Fix them, or leave them out:"
    )
    print(
        f"  mmkeras train: add `errors: skip` under `data:` in {config} (data.errors: skip);\n"
        "    training then skips those rows and says how many"
    )
    print("  mmkeras evaluate: leaves them out and lists them (its default, --errors skip)")
    print("  mmkeras predict: writes them with an empty prediction and the reason in `error`")


def _shown(path):
    """`path` relative to the working directory when it lies below it."""
    relative = os.path.relpath(os.path.abspath(path))
    return path if relative.startswith("..") else relative


def _by_reason(report):
    return ", ".join(f"{reason} {n}" for reason, n in report.counts.items())


def _print_problems(report, manifest, limit):
    base = os.path.dirname(os.path.abspath(manifest))
    rows = report.bad_rows
    shown = rows if limit == 0 else rows[:limit]
    for row in shown:
        for p in report.for_row(row):
            where = ""
            if p.path:
                relative = os.path.relpath(p.path, base)
                where = f" {p.path if relative.startswith('..') else relative!r}"
            print(f"    row {p.row}: {p.input}{where}: {p.reason} - {p.detail}")
    if len(shown) < len(rows):
        print(f"    ... and {len(rows) - len(shown)} more rows (--limit 0 lists them all)")


def _print_inputs(pipe):
    from mmkeras.data.data_summary import input_lines

    print("inputs (shapes without the batch dimension):")
    for line in input_lines(pipe):
        print("  " + line)


def _print_targets(pipe, counts):
    from mmkeras.data.data_summary import target_lines

    for line in target_lines(pipe, counts):
        print(line)


def _absent_targets(pipe, manifest):
    """Targets whose column no record of `manifest` has (a manifest to predict)."""
    from mmkeras.data import read_manifest

    records, _, _ = read_manifest(manifest, delimiter=pipe.delimiter)
    columns = set()
    for record in records:
        columns.update(record)
    return [name for name in pipe.target_names if records and pipe.schema[name] not in columns]


def _target_counts(pipe, manifest, report, without=()):
    """`{target: Counter(label: usable rows)}` for the classification and multi-label targets."""
    from mmkeras.data import read_manifest
    from mmkeras.data.label_spec import label_key

    records, _, _ = read_manifest(manifest, delimiter=pipe.delimiter)
    bad = set(report.bad_rows)
    out = {}
    for name in pipe.target_names:
        spec = pipe.specs[name]
        if spec.kind == "regression" or name in without:
            continue
        counter = collections.Counter()
        column = pipe.schema[name]
        for i, record in enumerate(records):
            if i in bad:
                continue
            value = record.get(column)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            if spec.kind == "multilabel":
                counter.update(label_key(k) for k in str(value).split(spec.separator) if k.strip())
            else:
                counter[label_key(value)] += 1
        out[name] = counter
    return out
