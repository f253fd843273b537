"""`mmkeras evaluate RUN_DIR --data test.csv [--plots DIR]`: metrics of a trained run."""

import json
import os
import sys

HELP = (
    "evaluate a trained run on a manifest (metrics per output; retrieval: recall@k, captioning: "
    "BLEU-4 and sample captions; written as JSON with --out; PNG plots with --plots)"
)


def add_arguments(parser):
    parser.add_argument("run_dir", help="run directory written by `mmkeras train`")
    parser.add_argument(
        "--data", help="manifest to evaluate on (default: the run's test, else validation set)"
    )
    parser.add_argument("--out", help="write the report as JSON to this file")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the run's")
    parser.add_argument(
        "--errors",
        choices=("raise", "skip"),
        default="skip",
        help="unusable rows: fail, or leave them out and report them (default)",
    )
    parser.add_argument(
        "--plots",
        nargs="?",
        const="",
        metavar="DIR",
        help="also write the plots as PNG files into DIR (default: RUN_DIR/plots): confusion "
        "matrices, ROC and precision-recall curves per output, learning curves of the run",
    )


def run(args):
    from mmkeras.cli import UsageError
    from mmkeras.cli.quiet import import_tensorflow

    if not os.path.isdir(args.run_dir):
        raise UsageError(f"{args.run_dir!r} is not a run directory")
    import_tensorflow()
    from mmkeras.train import Run

    run = Run.load(args.run_dir)
    data = args.data or run.config.data.test or run.config.data.validation
    if data is None:
        raise UsageError("the run has no test or validation manifest; pass --data MANIFEST")
    pipe = run.pipeline
    report = pipe.validate(data)
    if not report.ok:
        print(f"{report.num_bad_rows} of {report.num_rows} rows cannot be used:")
        print(report)
        if args.errors == "raise":
            print(
                "stopping (--errors raise); rerun with --errors skip (the default) to evaluate "
                "the other rows",
                file=sys.stderr,
            )
            return 1
    rep = None
    if run.config.model.model_task:
        from mmkeras.train.task_evaluation import task_report

        values = task_report(run, data, batch_size=args.batch_size, errors=args.errors)
        result = {"text": json.dumps(values, indent=2), "data": values}
    else:
        from mmkeras.evaluate import report as make_report

        rep = make_report(run.model, _dataset(run, data, args), labels=pipe.labels)
        result = {"text": str(rep), "data": rep.to_dict()}
    print(result["text"])
    if args.out:
        from mmkeras.atomic_files import write_text

        write_text(args.out, json.dumps(result["data"], indent=2))
        print(f"wrote {args.out}")
    if args.plots is not None:
        _plots(run, rep, args.plots or os.path.join(args.run_dir, "plots"))
    return 0


def _plots(run, rep, directory):
    """Writes the report's plots and the run's learning curves; prints each path."""
    from mmkeras.evaluate import plot_learning_curves

    written = [] if rep is None else rep.save_plots(directory)
    log = os.path.join(run.run_dir, "metrics.csv")
    if run.history and os.path.isfile(log):
        written.append(plot_learning_curves(log, os.path.join(directory, "learning_curves.png")))
    if not written:
        print("no plots for this run (it has no classification output and no training log)")
        return
    print(f"wrote {len(written)} plots to {directory}:")
    for path in written:
        print(f"  {path}")


def _dataset(run, data, args):
    return run.pipeline.dataset(
        data,
        training=False,
        batch_size=args.batch_size or run.config.data.batch_size,
        errors=args.errors,
        verbose=False,
    )
