"""`mmkeras demo`: single-modality against fused models on the bundled AV-Digits data, on a CPU.

Every model of the demo is a run configuration: the shipped `av_digits/demo.yaml` (the concat
model) with other branches or another fusion. Each is trained by `mk.train.fit`, the path of
`mmkeras train`, with the same data, optimizer, epochs and seed, and `deterministic: true`, so
the same command prints the same table. Each model keeps its best validation epoch
(`callbacks.checkpoint.keep: best`) and is scored on the test split with `mk.evaluate.report`.
The demo prints the table and says whether fusion helped (`demo_comparison`), and writes the
report, plots, modality ablation and a SavedModel export of the best fused model.
"""

import copy
import csv
import importlib.util
import json
import os
import sys
import time

HELP = (
    "train image-, audio- and text-only models and fused models on the bundled AV-Digits data "
    "and compare them (a few minutes on a CPU)"
)

DEFAULT_EPOCHS = 15
QUICK_EPOCHS = 2
MODALITIES = ("image", "audio", "text")
# (name, modalities, fusion): a single-modality model is the same config with one branch.
MODELS = (
    ("image", ("image",), "concat"),
    ("audio", ("audio",), "concat"),
    ("text", ("text",), "concat"),
    ("concat", MODALITIES, "concat"),
    ("attention", MODALITIES, "attention"),
    ("gated", MODALITIES, "gated"),
    ("low_rank", MODALITIES, "low_rank"),
)
QUICK_MODELS = (MODELS[2], MODELS[4])
# --quick reads only the first rows of each split, so a test runs in well under a minute.
QUICK_ROWS = {"train": 192, "validation": 96, "test": 96}


def add_arguments(parser):
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"epochs per model (default {DEFAULT_EPOCHS}, or {QUICK_EPOCHS} with --quick)",
    )
    parser.add_argument(
        "--out", help="run directory to write into (default ./runs/demo-<timestamp>)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a tiny run (a few hundred samples, two models, two epochs) to check the install",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def _check_args(args):
    from mmkeras.cli import UsageError

    if args.epochs is not None and args.epochs < 1:
        raise UsageError(f"--epochs must be a positive integer, received {args.epochs}")
    if args.seed < 0:
        raise UsageError(f"--seed must be a non-negative integer, received {args.seed}")
    if args.out and os.path.exists(args.out) and not os.path.isdir(args.out):
        raise UsageError(f"--out {args.out!r} exists and is not a directory")


def _say(message=""):
    print(message, flush=True)


def _sources(data, run_dir, quick):
    """`{split: manifest path}`; with `quick`, the first rows of each split, written to run_dir."""
    if not quick:
        return {split: str(data.manifest(split)) for split in QUICK_ROWS}
    folder = os.path.join(run_dir, "data")
    os.makedirs(folder, exist_ok=True)
    sources = {}
    for split, count in QUICK_ROWS.items():
        rows = data.rows(split)[:count]
        sources[split] = os.path.join(folder, f"{split}.csv")
        with open(sources[split], "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return sources


def model_configs(specs, epochs, seed, sources, root, out_dir):
    """`{name: config dict}`: `av_digits/demo.yaml` with each model's branches and fusion."""
    import yaml

    with open(os.path.join(root, "demo.yaml"), encoding="utf-8") as f:
        base = yaml.safe_load(f)
    base.update(output_dir=out_dir, seed=seed, deterministic=True)
    base["data"].update(train=sources["train"], validation=sources["validation"], root=root)
    base["train"]["epochs"] = epochs
    configs = {}
    for name, modalities, fusion in specs:
        config = copy.deepcopy(base)
        config["name"] = name
        data, model = config["data"], config["model"]
        data["schema"] = {m: data["schema"][m] for m in modalities} | {"label": "label"}
        for m in set(MODALITIES) - set(modalities):
            del data[m]
        model["branches"] = {m: model["branches"][m] for m in modalities}
        model["fusion"] = fusion
        if len(modalities) == 1:
            model["modality_dropout"] = 0.0  # one modality: nothing to drop
        configs[name] = config
    return configs


def _train(name, config, index, total, sources):
    """Trains one model with `mk.train.fit`; returns its run and its row of the table."""
    import mmkeras as mk
    from mmkeras.config import from_dict
    from mmkeras.train.atomic_model_checkpoint import read_best_info

    modalities = list(config["model"]["branches"])
    kind = "fused" if len(modalities) > 1 else "single"
    fusion = config["model"]["fusion"]
    prefix = f"[{index}/{total}] {name}"
    _say(f"{prefix} ({kind}: {' + '.join(modalities)}, fusion {fusion})")
    start = time.perf_counter()
    run = mk.train.fit(from_dict(config), restart=True, verbose=False)
    seconds = time.perf_counter() - start
    epochs = len(run.history)
    for row in run.history:
        _say(
            f"  {prefix} epoch {row['epoch'] + 1:>2}/{epochs}  loss {row['loss']:.3f}  "
            f"acc {row['accuracy']:.3f}  val_loss {row['val_loss']:.3f}  "
            f"val_acc {row['val_accuracy']:.3f}"
        )
    test = run.pipeline.dataset(sources["test"], batch_size=256, verbose=False)
    report = mk.evaluate.report(run.model, test, labels=run.pipeline.labels)
    report.to_json(os.path.join(run.run_dir, "report.json"))
    best = read_best_info(os.path.join(run.run_dir, "checkpoints"))
    row = {
        "name": name,
        "kind": kind,
        "modalities": modalities,
        "fusion": fusion if kind == "fused" else None,
        "params": int(run.model.count_params()),
        "best_epoch": best["epoch"] if best else epochs,
        "val_accuracy": float(run.metrics["validation"]["accuracy"]),
        "test_accuracy": float(report["label"]["metrics"]["accuracy"]),
        "train_seconds": round(seconds, 1),
    }
    _say(
        f"{prefix}: best epoch {row['best_epoch']}, val_acc {row['val_accuracy']:.3f}, "
        f"test_acc {row['test_accuracy']:.3f} ({seconds:.0f} s)"
    )
    return run, report, row


def _write_text(path, text):
    from mmkeras.atomic_files import write_text

    write_text(path, text if text.endswith("\n") else text + "\n")


def _write_best_fused(run, report, run_dir, plots, written):
    """The report, plots and SavedModel of the best fused model; returns an export error."""
    import mmkeras as mk

    report.to_json(os.path.join(run_dir, "report.json"))
    _write_text(os.path.join(run_dir, "report.txt"), report.table())
    written["evaluation report (best fused, test)"] = os.path.join(run_dir, "report.json")
    if plots:
        plots_dir = os.path.join(run_dir, "plots")
        report.save_plots(plots_dir)
        mk.evaluate.plot_learning_curves(
            os.path.join(run.run_dir, "metrics.csv"),
            os.path.join(plots_dir, "learning_curves.png"),
            title=f"Learning curves: {os.path.basename(run.run_dir)} fusion",
        )
        written["plots (best fused)"] = plots_dir
    try:
        exported = mk.export.saved_model(run.model, run.pipeline, os.path.join(run_dir, "export"))
    except Exception as e:  # noqa: BLE001 - keep the results already written; report below
        return f"{type(e).__name__}: {e}"
    written[f"SavedModel ({os.path.basename(run.run_dir)}, raw bytes in)"] = exported
    return None


def run(args):
    _check_args(args)
    from mmkeras.cli import demo_comparison as compare
    from mmkeras.cli.quiet import import_tensorflow

    wall_start, cpu_start = time.perf_counter(), time.process_time()
    epochs = args.epochs or (QUICK_EPOCHS if args.quick else DEFAULT_EPOCHS)
    specs = QUICK_MODELS if args.quick else MODELS
    run_dir = os.path.abspath(args.out or os.path.join("runs", time.strftime("demo-%Y%m%d-%H%M%S")))
    os.makedirs(run_dir, exist_ok=True)
    import_tensorflow()
    import mmkeras as mk

    _say(f"mmkeras demo: {len(specs)} models, {epochs} epochs each, seed {args.seed}")
    _say(f"run directory: {run_dir}")
    if args.quick:
        _say("quick run: a few hundred samples and two epochs; the accuracies mean nothing")
    plots = importlib.util.find_spec("matplotlib") is not None
    if not plots:
        _say("matplotlib is not installed: no plots (pip install matplotlib adds them)")

    data = mk.datasets.load_av_digits()
    sources = _sources(data, run_dir, args.quick)
    out_dir = os.path.join(run_dir, "models")
    configs = model_configs(specs, epochs, args.seed, sources, str(data.root), out_dir)
    runs, reports, rows = {}, {}, []
    for index, (name, config) in enumerate(configs.items(), start=1):
        runs[name], reports[name], row = _train(name, config, index, len(configs), sources)
        rows.append(row)

    table = compare.table(rows)
    best_fused, best_single = compare.best(rows, "fused"), compare.best(rows, "single")
    best_attention = compare.best(rows, "fused", fusion="attention")
    _say("")
    _say("Accuracy on AV-Digits (each model at its best validation epoch):")
    _say(table)
    verdict = margin = None
    if best_fused is not None and best_single is not None:
        margin, verdict = compare.verdict(best_fused, best_single)
        _say("")
        _say(verdict)

    _say("")
    _say("writing results ...")
    for name in runs if plots else ():
        log = os.path.join(runs[name].run_dir, "metrics.csv")
        mk.evaluate.plot_learning_curves(
            log, title=f"Learning curves: {name}", metrics=["loss", "accuracy"]
        )
    _write_text(os.path.join(run_dir, "results.txt"), table + ("\n\n" + verdict if verdict else ""))
    written = {"results table": os.path.join(run_dir, "results.txt")}
    export_error = None
    if best_fused is not None:
        name = best_fused["name"]
        export_error = _write_best_fused(runs[name], reports[name], run_dir, plots, written)
    if best_attention is not None:
        name = best_attention["name"]
        test = runs[name].pipeline.dataset(sources["test"], batch_size=256, verbose=False)
        result = mk.evaluate.ablation(runs[name].model, test)
        result.to_json(os.path.join(run_dir, "ablation.json"))
        _write_text(os.path.join(run_dir, "ablation.txt"), result.table())
        _say("")
        _say(f"Modality ablation of the {name} model on the test set:")
        _say(result.table())
        written["modality ablation"] = os.path.join(run_dir, "ablation.json")

    wall = time.perf_counter() - wall_start
    cpu = time.process_time() - cpu_start
    base = next(iter(configs.values()))  # every model shares these settings
    summary = {
        "dataset": "AV-Digits",
        "quick": bool(args.quick),
        "seed": args.seed,
        "deterministic": True,
        "epochs": epochs,
        "batch_size": base["data"]["batch_size"],
        "learning_rate": base["optimizer"]["learning_rate"],
        "modality_dropout": max(c["model"]["modality_dropout"] for c in configs.values()),
        "samples": {split: _count_rows(path) for split, path in sources.items()},
        "models": rows,
        "best_fused": best_fused and best_fused["name"],
        "best_single": best_single and best_single["name"],
        "fusion_margin_points": None if margin is None else round(margin, 2),
        "verdict": verdict,
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "export_error": export_error,
    }
    _write_text(os.path.join(run_dir, "results.json"), json.dumps(summary, indent=2))
    written["results (JSON)"] = os.path.join(run_dir, "results.json")

    _say("")
    _say(f"done in {wall:.0f} s ({cpu:.0f} s of CPU time). Written:")
    width = max(len(k) for k in written)
    for what, path in written.items():
        _say(f"  {what.ljust(width)}  {path}")
    what = "runs (config, logs, curves, model)" if plots else "runs (config, logs, model)"
    _say(f"  {what.ljust(width)}  {out_dir}")
    if export_error:
        print(f"mmkeras demo: the export failed: {export_error}", file=sys.stderr)
        return 1
    return 0


def _count_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return sum(1 for _ in csv.DictReader(f))


if __name__ == "__main__":
    import argparse

    _parser = argparse.ArgumentParser(prog="mmkeras demo", description=HELP)
    add_arguments(_parser)
    sys.exit(run(_parser.parse_args()))
