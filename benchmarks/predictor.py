"""`mk.Predictor` and its peers on the same table, in one run: test accuracy, wall time, CPU, memory.

Usage:

    # the synthetic mixed table (image + numbers + category + text; label = shape XOR sign of x1,
    # or with --rule and: circle AND x1 > 0)
    /work/venv/bin/python benchmarks/predictor.py --rows 600 --seed 0 --time-limit 600 \
        --peers ludwig,autogluon --workdir /tmp/predictor-bench
    # AV-Digits (image + audio + text), next to Ludwig's concat model of benchmarks/peers
    /work/venv/bin/python benchmarks/predictor.py --dataset av_digits --seeds 0 1 --time-limit 300

What it compares, each run a child process measured alike (`ludwig_av_digits.measure`: wall =
the whole process, start-up and imports included; CPU = user + system; peak = max RSS):

- mmkeras: `mk.Predictor(label="label", path=..., preset=--preset, seed=SEED)`, then
  `fit(train.csv, tuning_data=validation.csv, time_limit=--time-limit)`, `evaluate(test.csv)`
  and `predict` on the test rows (test accuracy is counted from `predict`; `evaluate`'s dict and
  `leaderboard()` are printed beside it). It runs this working tree's mmkeras.
- `ludwig`: Ludwig 0.11 in its own virtual environment (`--ludwig-python`, see
  `benchmarks/peers/README.md`) through `benchmarks/peers/ludwig_child.py`. On the mixed table:
  `stacked_cnn` image encoder, `number` x1 and x2, `category` colour, `text` note, each with
  Ludwig's default encoder and missing-value handling, a `concat` combiner with
  `--ludwig-fc-layers` fully connected layers of 128 units (Ludwig's default is none, which makes
  the model linear in the concatenated features and so unable to learn the exclusive-or of the
  label), `category` output, `--ludwig-epochs` epochs (Ludwig has no time limit; it stops early
  after 5 rounds without a better validation accuracy). On AV-Digits: the `concat` model of
  `benchmarks/peers/ludwig_av_digits.py` (15 epochs, batch 32). The YAML is printed.
- `autogluon`: AutoGluon's `MultiModalPredictor(label=..., eval_metric="accuracy")`, `fit(train,
  tuning_data=validation, time_limit=--time-limit, seed=SEED)` with its default models, in its own
  virtual environment (`--autogluon-python`), through `benchmarks/peers/autogluon_child.py`. Its
  default backbones are pretrained Hugging Face and timm checkpoints, which it downloads; where
  they cannot be reached the run fails and its error is printed. `autogluon-scratch` runs what it
  can without a download: models `timm_image` (a randomly initialised resnet18, written to a
  local checkpoint folder, as AutoGluon 1.6's `fit` ignores `pretrained=False`),
  `numerical_mlp`, `categorical_mlp` and `fusion_mlp`; the text column is left out (its text
  models need a Hugging Face tokenizer).

The peers read copies of the CSV files with absolute image (and audio) paths. A run that fails is
listed with its exit status and the end of its log, never dropped. Output: the settings of each
system, one line per run as it ends, then a table (system, seed, test accuracy, wall, CPU, peak
memory, and wall relative to mmkeras's run of the same seed).
"""

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "peers"))

import ludwig_av_digits as peers  # noqa: E402

SPLITS = peers.SPLITS
PEERS = ("ludwig", "autogluon", "autogluon-scratch")
AUTOGLUON_SCRATCH = {
    "model.names": ["timm_image", "numerical_mlp", "categorical_mlp", "fusion_mlp"],
}
AUTOGLUON_SCRATCH_IMAGE = "resnet18"


# ------------------------------------------------------------------ the data


def mixed_table(args):
    """Writes the synthetic mixed table; returns (CSV paths by split, file columns, description)."""
    sys.path.insert(0, ROOT)
    from mmkeras.testing import make_mixed_table

    table = make_mixed_table(
        os.path.join(args.workdir, "table"), rows=args.rows, seed=args.seed, rule=args.rule
    )
    manifests = {split: getattr(table, split) for split in SPLITS}
    rule = {
        "xor": "exclusive-or of the image's shape and the sign of x1 (each column alone at "
        "chance, about 93% reachable)",
        "and": "'yes' for a circle with x1 > 0 (each column alone at most the majority 'no', "
        "about 75%)",
    }[args.rule]
    about = (
        f"make_mixed_table(rows={args.rows}, seed={args.seed}, rule={args.rule!r}): "
        f"columns {list(table.columns)}; label = {rule}"
    )
    return manifests, (table.image,), about


def av_digits(args):
    manifests = {split: os.path.join(peers.DATA, f"{split}.csv") for split in SPLITS}
    return manifests, ("image", "audio"), "AV-Digits (mmkeras/datasets/av_digits)"


def absolute_copies(manifests, columns, folder):
    os.makedirs(folder, exist_ok=True)
    return {
        split: peers._absolute_manifest(path, os.path.join(folder, f"{split}.csv"), columns)
        for split, path in manifests.items()
    }


# ------------------------------------------------------------------ the systems


def ludwig_mixed_config(args):
    return {
        "model_type": "ecd",
        "input_features": [
            {
                "name": "image",
                "type": "image",
                "preprocessing": {"height": 32, "width": 32, "num_channels": 3},
                "encoder": {"type": "stacked_cnn"},
            },
            {"name": "x1", "type": "number"},
            {"name": "x2", "type": "number"},
            {"name": "colour", "type": "category"},
            {"name": "note", "type": "text"},
        ],
        "output_features": [{"name": "label", "type": "category"}],
        "combiner": {
            "type": "concat",
            "num_fc_layers": args.ludwig_fc_layers,
            "output_size": 128,
        },
        "trainer": {"epochs": args.ludwig_epochs, "batch_size": 32},
    }


def ludwig_settings(args):
    if args.dataset == "av_digits":
        return peers.ludwig_config("concat", args.epochs, args.batch_size)
    return ludwig_mixed_config(args)


def run_ludwig(args, seed, manifests, work):
    return peers.run_ludwig_config(args, ludwig_settings(args), manifests, seed, work)


def autogluon_command(args, seed, manifests, work, variant):
    command = [
        args.autogluon_python, os.path.join(HERE, "peers", "autogluon_child.py"),
        "--train", manifests["train"],
        "--validation", manifests["validation"],
        "--test", manifests["test"],
        "--label", "label",
        "--seed", str(seed),
        "--time-limit", str(args.time_limit),
        "--output-dir", os.path.join(work, "results"),
        "--result", os.path.join(work, "result.json"),
    ]  # fmt: skip
    drop = ["audio"] if args.dataset == "av_digits" else []  # it has no audio model
    if variant == "autogluon-scratch":
        command += ["--hyperparameters", json.dumps(AUTOGLUON_SCRATCH)]
        command += ["--random-timm", AUTOGLUON_SCRATCH_IMAGE]
        drop += ["text" if args.dataset == "av_digits" else "note"]
    return command + (["--drop", *drop] if drop else [])


def run_child(command, work, timeout):
    """Runs a child that writes `work/result.json`; returns its measurements and result."""
    os.makedirs(work, exist_ok=True)
    log = os.path.join(work, "log.txt")
    record = {"command": " ".join(command), "log": log, **peers.measure(command, log, timeout)}
    result = os.path.join(work, "result.json")
    if record["returncode"] == 0 and os.path.isfile(result):
        with open(result, encoding="utf-8") as f:
            record.update(json.load(f))
    else:
        record["error"] = peers._tail(log)
    return record


def predictor_command(args, seed, manifests, work):
    spec = {
        "label": "label",
        "path": os.path.join(work, "predictor"),
        "preset": args.preset,
        "seed": seed,
        "time_limit": args.time_limit,
        "train": manifests["train"],
        "validation": manifests["validation"],
        "test": manifests["test"],
        "result": os.path.join(work, "result.json"),
    }
    return [sys.executable, os.path.abspath(__file__), "--predictor-child", json.dumps(spec)]


def predictor_child(spec):
    """The mmkeras run, in its own process: fit, evaluate, predict, leaderboard."""
    sys.path.insert(0, ROOT)  # this working tree's mmkeras
    start = time.perf_counter()
    import numpy as np
    import pandas as pd

    import mmkeras as mk

    predictor = mk.Predictor(
        label=spec["label"], path=spec["path"], preset=spec["preset"], seed=spec["seed"]
    )
    imported = time.perf_counter()
    predictor.fit(spec["train"], tuning_data=spec["validation"], time_limit=spec["time_limit"])
    fitted = time.perf_counter()
    metrics = predictor.evaluate(spec["test"])
    # `predict` on a DataFrame: the file paths are made absolute, as they are relative to the CSV.
    test = pd.read_csv(spec["test"])
    folder = os.path.dirname(os.path.abspath(spec["test"]))
    for column in ("image", "audio"):
        if column in test:
            test[column] = [
                os.path.join(folder, p) if isinstance(p, str) else p for p in test[column]
            ]
    truth = test.pop(spec["label"]).astype(str).to_numpy()
    predicted = np.asarray(predictor.predict(test)).astype(str)
    scored = time.perf_counter()
    correct = truth == predicted
    result = {
        "test_accuracy": float(correct.mean()),
        "test_macro_recall": float(np.mean([correct[truth == c].mean() for c in set(truth)])),
        "test_samples": int(len(truth)),
        "predictor_evaluate": dict(metrics),
        "leaderboard": predictor.leaderboard().to_string(),
        "seconds": {
            "import_and_build": imported - start,
            "fit": fitted - imported,
            "evaluate_and_predict": scored - fitted,
        },
    }
    with open(spec["result"], "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2, default=str)
    return 0


# ------------------------------------------------------------------ report


def print_settings(args, about):
    print(f"\n## Data\n\n{about}")
    print("\n## Settings\n")
    print(
        f"mmkeras: mk.Predictor(label='label', path=RUN, preset={args.preset!r}, seed=SEED)"
        f".fit(train.csv, tuning_data=validation.csv, time_limit={args.time_limit}); "
        "evaluate(test.csv); predict(test rows)"
    )
    if "ludwig" in args.peers:
        print(
            f"\nludwig ({args.ludwig_python}; LudwigModel(config).train(training_set, "
            "validation_set, random_seed=SEED), evaluate(test)):\n"
        )
        print(peers._dump(ludwig_settings(args)))
    for variant in ("autogluon", "autogluon-scratch"):
        if variant in args.peers:
            scratch = variant == "autogluon-scratch"
            dropped = ["audio"] if args.dataset == "av_digits" else []
            dropped += [("text" if args.dataset == "av_digits" else "note")] if scratch else []
            print(
                f"{variant} ({args.autogluon_python}): MultiModalPredictor(label='label', "
                "eval_metric='accuracy')"
                f".fit(train, tuning_data=validation, time_limit={args.time_limit}, seed=SEED"
                + (f", hyperparameters={AUTOGLUON_SCRATCH}" if scratch else "")
                + f"); columns left out: {dropped or 'none'}"
                + (
                    f"; timm_image: a randomly initialised {AUTOGLUON_SCRATCH_IMAGE} written "
                    "to a local checkpoint folder"
                    if scratch
                    else ""
                )
            )


def print_table(runs, systems, seeds):
    print("\n## Runs\n")
    print("| system | seed | test accuracy | wall s | CPU s | peak MB | wall / mmkeras |")
    print("|---|---|---|---|---|---|---|")
    for seed in seeds:
        base = runs.get(("mmkeras", seed), {})
        for system in systems:
            r = runs.get((system, seed))
            if r is None:
                continue
            ok = "error" not in r
            ratio = None
            if ok and "error" not in base and base.get("wall_s"):
                ratio = r["wall_s"] / base["wall_s"]
            acc = r.get("test_accuracy") if ok else None
            print(
                f"| {system} | {seed} | {peers._fmt(peers._pct(acc), '.1f', '%')} | "
                f"{peers._fmt(r.get('wall_s'), '.0f')} | {peers._fmt(r.get('cpu_s'), '.0f')} | "
                f"{peers._fmt(r.get('peak_mb'), '.0f')} | {peers._fmt(ratio, '.2f', 'x')} |"
            )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=("mixed", "av_digits"), default="mixed")
    parser.add_argument("--rows", type=int, default=600, help="rows of the mixed table")
    parser.add_argument("--seed", type=int, default=0, help="seed of the table (and the runs)")
    parser.add_argument(
        "--rule",
        choices=("xor", "and"),
        default="xor",
        help="the mixed table's label: shape XOR sign of x1, or circle AND x1 > 0",
    )
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds of the runs (default: --seed)")
    parser.add_argument("--time-limit", type=float, help="seconds (default: 600, AV-Digits 300)")
    parser.add_argument("--preset", default="medium", help="mk.Predictor's preset")
    parser.add_argument(
        "--peers",
        help=f"comma-separated, of {', '.join(PEERS)}; '' runs mmkeras alone (default: "
        "ludwig,autogluon on the mixed table, ludwig on AV-Digits)",
    )
    parser.add_argument("--workdir", help="where tables and runs go (default: a temporary folder)")
    parser.add_argument("--ludwig-python", default="/work/ludwig-venv/bin/python")
    parser.add_argument("--autogluon-python", default="/work/ag-venv/bin/python")
    parser.add_argument("--ludwig-epochs", type=int, default=30, help="mixed table only")
    parser.add_argument("--ludwig-fc-layers", type=int, default=2, help="mixed table only")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per child process")
    parser.add_argument("--predictor-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peers is None:
        args.peers = "ludwig" if args.dataset == "av_digits" else "ludwig,autogluon"
    args.peers = [p for p in dict.fromkeys(args.peers.replace(" ", "").split(",")) if p]
    unknown = [p for p in args.peers if p not in PEERS]
    if unknown:
        parser.error(f"--peers: unknown {unknown}; choose from {', '.join(PEERS)}")
    args.seeds = list(dict.fromkeys(args.seeds or [args.seed]))
    if args.time_limit is None:
        args.time_limit = 300.0 if args.dataset == "av_digits" else 600.0
    # the AV-Digits Ludwig model of benchmarks/peers, as that script runs it
    args.epochs, args.batch_size = 15, 32
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.predictor_child:
        return predictor_child(json.loads(args.predictor_child))
    temporary = args.workdir is None
    args.workdir = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="predictor-bench-"))
    os.makedirs(args.workdir, exist_ok=True)
    head = peers._git("log", "--oneline", "-3").replace("\n", "\n  ")
    print(f"git log --oneline | head -3:\n  {head}")
    print(
        f"load average at start: {os.getloadavg()}, {os.cpu_count()} CPUs, "
        f"{platform.platform()}; work dir {args.workdir}"
    )
    manifests, file_columns, about = (mixed_table if args.dataset == "mixed" else av_digits)(args)
    absolute = absolute_copies(manifests, file_columns, os.path.join(args.workdir, "absolute"))
    print_settings(args, about)

    systems = ["mmkeras", *args.peers]
    runs = {}
    for seed in args.seeds:
        for system in systems:
            work = os.path.join(args.workdir, f"{system}-seed{seed}")
            shutil.rmtree(work, ignore_errors=True)
            print(f"\n[{time.strftime('%H:%M:%S')}] {system} seed {seed} ...", flush=True)
            if system == "mmkeras":
                command = predictor_command(args, seed, manifests, work)
                record = run_child(command, work, args.timeout)
            elif system == "ludwig":
                record = run_ludwig(args, seed, absolute, work)
            else:
                command = autogluon_command(args, seed, absolute, work, system)
                record = run_child(command, work, args.timeout)
            runs[(system, seed)] = record
            if "error" in record:
                print(f"  FAILED (exit {record.get('returncode')}); log {record['log']}:")
                print("  " + record["error"].replace("\n", "\n  "))
                continue
            print(
                f"  test accuracy {100 * record['test_accuracy']:.1f}%, wall "
                f"{record['wall_s']:.0f} s, CPU {record['cpu_s']:.0f} s, "
                f"peak {record['peak_mb']:.0f} MB",
                flush=True,
            )
            for key in ("predictor_evaluate", "autogluon_evaluate", "ludwig_test_stats"):
                if key in record:
                    print(f"  {key}: {record[key]}")
            if "leaderboard" in record:
                print("  leaderboard:\n  " + record["leaderboard"].replace("\n", "\n  "))
    print_table(runs, systems, args.seeds)
    print(f"\nload average at end: {os.getloadavg()}")
    failed = [f"{s} seed {seed}" for (s, seed), r in runs.items() if "error" in r]
    if failed:
        print(f"failed: {', '.join(failed)}; their logs are kept in {args.workdir}")
    elif temporary:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
