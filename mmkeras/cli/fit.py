"""`mmkeras fit TRAIN.csv --label COLUMN [--tuning-data VAL.csv] [--time-limit S]`: a Predictor."""

import json
import os

from mmkeras.cli.arguments import check_manifest_file

HELP = (
    "infer the columns of a table, search and ensemble a multimodal model within a time limit "
    "(mk.Predictor); prints the leaderboard and, with --test, the test metrics"
)
EPILOG = """\
The table's cells are image / audio paths (relative to the CSV), texts, numbers and categories;
empty cells are missing values. The predictor is written to --path (default
runs/predictor-<time>): load it with `mk.Predictor.load(PATH)` in Python, or export it with
--export DIR and predict with `mmkeras predict DIR DATA`.
"""


def add_arguments(parser):
    parser.epilog = EPILOG
    parser.add_argument("train", help="training table (CSV) with the label column")
    parser.add_argument("--label", required=True, help="the column to predict")
    parser.add_argument("--tuning-data", help="table that picks epochs, trials and the ensemble")
    parser.add_argument("--test", help="table to report test metrics on")
    parser.add_argument(
        "--time-limit", type=float, default=None, help="seconds for the whole fit (default: none)"
    )
    parser.add_argument(
        "--preset", choices=("fast", "medium", "best"), default="medium", help="default: medium"
    )
    parser.add_argument(
        "--problem-type",
        choices=("binary", "multiclass", "regression", "multi_label"),
        help="default: inferred from the label column",
    )
    parser.add_argument("--path", help="folder to write the predictor into")
    parser.add_argument("--seed", type=int, default=0, help="default: 0")
    parser.add_argument("--export", metavar="DIR", help="also export a raw-bytes SavedModel")


def run(args):
    from mmkeras.cli import UsageError
    from mmkeras.cli.quiet import import_tensorflow

    check_manifest_file(args.train, "TRAIN")
    for what, path in (("--tuning-data", args.tuning_data), ("--test", args.test)):
        if path is not None:
            check_manifest_file(path, what)
    if args.time_limit is not None and args.time_limit <= 0:
        raise UsageError(f"--time-limit must be > 0 seconds, received {args.time_limit:g}")
    import_tensorflow()
    import pandas as pd

    from mmkeras.auto import Predictor

    pred = Predictor(
        label=args.label,
        path=args.path,
        problem_type=args.problem_type,
        preset=args.preset,
        seed=args.seed,
    )
    pred.fit(args.train, tuning_data=args.tuning_data, time_limit=args.time_limit)
    columns = ["trial", "score", "seconds", "epochs", "status", "kept"]
    board = pred.leaderboard()
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(board[[c for c in columns if c in board.columns]].to_string(index=False))
    if args.test:
        metrics = pred.evaluate(args.test)
        print(f"test metrics ({os.path.basename(args.test)}):")
        print(json.dumps({k: round(v, 4) for k, v in metrics.items()}, indent=2))
    if args.export:
        pred.export(args.export)
        print(f"exported to {args.export}")
    return 0
