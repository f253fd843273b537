"""`mmkeras evaluate RUN_DIR --data test.csv`: metrics of a trained run on a manifest."""

import json
import os

HELP = (
    "evaluate a trained run on a manifest (metrics per output; retrieval: recall@k, captioning: "
    "BLEU-4 and sample captions; written as JSON with --out)"
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
    if run.config.model.model_task:
        from mmkeras.train.task_report import task_report

        values = task_report(run, data, batch_size=args.batch_size, errors=args.errors)
        result = {"text": json.dumps(values, indent=2), "data": values}
    else:
        result = _report(run.model, _dataset(run, data, args), pipe)
    print(result["text"])
    if args.out:
        from mmkeras.train.atomic import write_text

        write_text(args.out, json.dumps(result["data"], indent=2))
        print(f"wrote {args.out}")
    return 0


def _dataset(run, data, args):
    return run.pipeline.dataset(
        data,
        training=False,
        batch_size=args.batch_size or run.config.data.batch_size,
        errors=args.errors,
        verbose=False,
    )


def _report(model, ds, pipe):
    try:
        from mmkeras.evaluate import report
    except ImportError:
        report = None
    if report is not None:
        rep = report(model, ds, labels=pipe.labels)
        return {"text": str(rep), "data": rep.to_dict()}
    values = model.evaluate(ds, verbose=0, return_dict=True)
    values = {k: float(v) for k, v in values.items()}
    return {"text": "\n".join(f"{k}: {v:.4f}" for k, v in values.items()), "data": values}
