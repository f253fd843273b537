"""mmkeras against Ludwig 0.11 on AV-Digits: test accuracy, wall, CPU time and peak memory.

What it compares: whole user-visible runs of two systems, on the same splits of the bundled
AV-Digits dataset (`mmkeras/datasets/av_digits/{train,validation,test}.csv`), for the same number
of epochs and batch size, one seed after the other:

- Ludwig 0.11 (its own virtual environment, see README.md): a concat model as the issue
  describes it, all other settings Ludwig's defaults: `stacked_cnn` image encoder on the 32x32
  grayscale PNG, `rnn` (GRU) audio encoder on Ludwig's fbank features (pre-emphasis, 80 bands,
  per-band normalisation per file: `norm: per_file`), `rnn` (GRU) text encoder, `concat`
  combiner, `category` output; trained on train, validated on validation (Ludwig keeps the
  checkpoint of the best validation round, by its default metric for a category output:
  its macro-averaged `accuracy`, and restores it at the end), then `evaluate` on test. One
  child process runs `ludwig_child.py` (which also replaces `torchaudio.load` by a WAV reader
  there, see its docstring). Test accuracy is the fraction of test rows predicted right, counted
  from Ludwig's predictions (Ludwig's own `accuracy` is the mean per-class recall, reported as
  "macro recall"). With `--models image audio text`, the same model with one input feature.
- mmkeras: `mmkeras train CONFIG --name ... --output-dir ... --epochs N` and then
  `mmkeras evaluate RUN_DIR --data test.csv --out report.json`, two child processes, with the
  shipped `examples/configs/av_digits.yaml` (or `--mmkeras-config`) copied with `seed:` and
  `train.epochs` set and its manifests made absolute. With `--models image audio text`, the
  config minus the other branches (their `data.schema` columns and `data.<modality>` sections
  dropped too; fusion `concat` and no modality dropout, as there is nothing to fuse). Test
  accuracy is `outputs.<label>.metrics.accuracy` of evaluate's JSON report (macro recall: the
  mean of its per-class recalls).

Every run is a child process started and reaped the same way (`subprocess.Popen`, then
`os.wait4`), so wall time (start-up, imports, data loading and preprocessing, training and
evaluation, as a user sees it), CPU time (user + system of the child and its reaped children)
and peak memory (the child's max RSS) are measured alike. mmkeras's two processes count as one
run: walls and CPU times added, peak = the larger of the two.

This machine is shared and noisy, so the two systems take turns: for each seed and model both
systems run back to back, the order alternating from one pair to the next, and the table gives
mmkeras/Ludwig ratios of each pair as well as the absolute figures.

    /work/venv/bin/python benchmarks/peers/ludwig_av_digits.py --quick        # does it work
    /work/venv/bin/python benchmarks/peers/ludwig_av_digits.py \
        --seeds 0 1 --epochs 15 --models concat image audio text --out results.json

Only the standard library and PyYAML are needed by this script itself; Ludwig is never imported
here (`--ludwig-python` runs it), nor is mmkeras (`--mmkeras` runs its command line).
"""

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, "mmkeras", "datasets", "av_digits")
MODALITIES = ("image", "audio", "text")
MODELS = ("concat",) + MODALITIES
SYSTEMS = ("ludwig", "mmkeras")
SPLITS = ("train", "validation", "test")


# ------------------------------------------------------------------ configs of the two systems


def ludwig_config(model, epochs, batch_size):
    """The Ludwig config of `model` ("concat" = all three inputs, else one modality)."""
    features = {
        "image": {
            "name": "image",
            "type": "image",
            "preprocessing": {"height": 32, "width": 32, "num_channels": 1},
            "encoder": {"type": "stacked_cnn"},
        },
        "audio": {
            "name": "audio",
            "type": "audio",
            "preprocessing": {
                "type": "fbank",
                "audio_file_length_limit_in_s": 1.0,
                "norm": "per_file",
            },
            "encoder": {"type": "rnn", "cell_type": "gru"},
        },
        "text": {
            "name": "text",
            "type": "text",
            "encoder": {"type": "rnn", "cell_type": "gru"},
        },
    }
    return {
        "model_type": "ecd",
        "input_features": [features[m] for m in MODALITIES if model in ("concat", m)],
        "output_features": [{"name": "label", "type": "category"}],
        "combiner": {"type": "concat"},
        "trainer": {"epochs": epochs, "batch_size": batch_size},
    }


def mmkeras_config(shipped, model, seed, manifests, epochs, fusion=None):
    """The shipped mmkeras config as a dict, with `seed`, absolute manifests, `train.epochs` (the
    run also gets `--epochs`) and `model`'s branches."""
    with open(shipped, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    config["seed"] = seed
    config.setdefault("train", {})["epochs"] = epochs
    data = config["data"]
    for split in SPLITS:
        data[split] = manifests[split]
    if fusion:
        config["model"]["fusion"] = fusion
    if model != "concat":
        branches = config["model"]["branches"]
        if model not in branches:
            raise SystemExit(f"{shipped} has no {model!r} branch; branches: {list(branches)}")
        for other in [m for m in MODALITIES if m != model]:
            branches.pop(other, None)
            data["schema"].pop(other, None)
            data.pop(other, None)
        config["model"]["fusion"] = "concat"
        config["model"].pop("fusion_kwargs", None)
        config["model"].pop("modality_dropout", None)
    return config


def _dump(config):
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=100)


def _absolute_manifest(source, target, columns=("image", "audio")):
    """Copies a manifest with the file paths of `columns` made absolute (Ludwig needs that);
    empty cells stay empty."""
    folder = os.path.dirname(os.path.abspath(source))
    with open(source, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with open(target, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            for column in columns:
                if row[column]:
                    row[column] = os.path.join(folder, row[column])
            writer.writerow(row)
    return target


# ------------------------------------------------------------------ measuring a child process


def measure(command, log_path, timeout):
    """Runs `command` as a child process; returns its exit code, wall, CPU and peak memory.

    The child's output goes to `log_path`. CPU time and max RSS come from `os.wait4`, which
    covers the child and the children it reaped.
    """
    with open(log_path, "ab") as log:
        log.write(("$ " + " ".join(command) + "\n").encode())
        log.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.2)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "returncode": proc.returncode,
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024.0,  # kilobytes on Linux
    }


def _tail(path, lines=30):
    with open(path, encoding="utf-8", errors="replace") as f:
        return "".join(f.readlines()[-lines:])


# ------------------------------------------------------------------ one run of each system


def run_ludwig(args, model, seed, work):
    os.makedirs(work, exist_ok=True)
    manifests = {
        split: _absolute_manifest(
            os.path.join(DATA, f"{split}.csv"), os.path.join(work, f"{split}.csv")
        )
        for split in SPLITS
    }
    return run_ludwig_config(
        args, ludwig_config(model, args.epochs, args.batch_size), manifests, seed, work
    )


def run_ludwig_config(args, config, manifests, seed, work):
    """One `ludwig_child.py` process: trains `config` on `manifests` (a dict of absolute-path
    CSVs by split), tests it, and returns its measurements and results (or its error)."""
    os.makedirs(work, exist_ok=True)
    config_text = _dump(config)
    config_path = os.path.join(work, "ludwig.yaml")
    with open(config_path, "w", encoding="utf-8") as f:
        f.write(config_text)
    result_path = os.path.join(work, "result.json")
    log = os.path.join(work, "log.txt")
    command = [
        args.ludwig_python, os.path.join(HERE, "ludwig_child.py"),
        "--config", config_path,
        "--train", manifests["train"],
        "--validation", manifests["validation"],
        "--test", manifests["test"],
        "--seed", str(seed),
        "--output-dir", os.path.join(work, "results"),
        "--result", result_path,
    ]  # fmt: skip
    usage = measure(command, log, args.timeout)
    record = {"config": config_text, "log": log, **usage}
    if usage["returncode"] == 0 and os.path.isfile(result_path):
        with open(result_path, encoding="utf-8") as f:
            child = json.load(f)
        record.update(
            test_accuracy=child["test_accuracy"],
            test_macro_recall=child["test_macro_recall"],
            best_epoch=child["best_epoch"],
            epochs_run=child["epochs_run"],
            detail=child,
        )
    else:
        record["error"] = _tail(log)
    return record


def run_mmkeras(args, model, seed, work):
    os.makedirs(work, exist_ok=True)
    manifests = {split: os.path.join(DATA, f"{split}.csv") for split in SPLITS}
    config_text = _dump(
        mmkeras_config(
            args.mmkeras_config, model, seed, manifests, args.epochs, args.mmkeras_fusion
        )
    )
    config_path = os.path.join(work, "mmkeras.yaml")
    with open(config_path, "w", encoding="utf-8") as f:
        f.write(config_text)
    name = f"{model}-seed{seed}"
    runs = os.path.join(work, "runs")
    run_dir = os.path.join(runs, name)
    report = os.path.join(work, "report.json")
    log = os.path.join(work, "log.txt")
    train = measure(
        [args.mmkeras, "train", config_path, "--name", name, "--output-dir", runs,
         "--epochs", str(args.epochs), "--restart"],
        log, args.timeout,
    )  # fmt: skip
    record = {"config": config_text, "log": log, "train": train}
    if train["returncode"] != 0:
        record.update(train, error=_tail(log))
        return record
    evaluate = measure(
        [args.mmkeras, "evaluate", run_dir, "--data", manifests["test"], "--out", report],
        log, args.timeout,
    )  # fmt: skip
    record["evaluate"] = evaluate
    record.update(
        returncode=evaluate["returncode"],
        wall_s=train["wall_s"] + evaluate["wall_s"],
        cpu_s=train["cpu_s"] + evaluate["cpu_s"],
        user_s=train["user_s"] + evaluate["user_s"],
        sys_s=train["sys_s"] + evaluate["sys_s"],
        peak_mb=max(train["peak_mb"], evaluate["peak_mb"]),
    )
    if evaluate["returncode"] != 0 or not os.path.isfile(report):
        record["error"] = _tail(log)
        return record
    with open(report, encoding="utf-8") as f:
        outputs = json.load(f)["outputs"]
    section = outputs.get("label") or next(iter(outputs.values()))
    record["test_accuracy"] = float(section["metrics"]["accuracy"])
    record["test_samples"] = section.get("num_samples")
    recalls = [c.get("recall") for c in section.get("per_class", {}).values()]
    if recalls and all(r is not None for r in recalls):
        record["test_macro_recall"] = sum(recalls) / len(recalls)
    record.update(_mmkeras_history(run_dir))
    return record


def _mmkeras_history(run_dir):
    """Epochs run and the best `val_accuracy` epoch, from the run's `metrics.csv`."""
    path = os.path.join(run_dir, "metrics.csv")
    if not os.path.isfile(path):
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r.get("val_accuracy") not in (None, "", "NA")]
    if not rows:
        return {}
    series = [float(r["val_accuracy"]) for r in rows]
    return {
        "epochs_run": len(series),
        "best_epoch": series.index(max(series)) + 1,
        "validation_accuracy_series": series,
    }


# ------------------------------------------------------------------ report


def _git(*argv):
    try:
        return subprocess.run(
            ["git", "-C", ROOT, *argv], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _fmt(value, spec, suffix=""):
    return "failed" if value is None else f"{value:{spec}}{suffix}"


def _pct(value):
    return None if value is None else 100 * value


def _ratio(records, key):
    lud, mmk = records.get("ludwig", {}).get(key), records.get("mmkeras", {}).get(key)
    return None if not lud or mmk is None else mmk / lud


def _epochs(r):
    if r.get("best_epoch") is None:
        return "-"
    return f"{r['best_epoch']}/{r['epochs_run']}"


def print_tables(runs, models, seeds, systems):
    print("\n## Runs\n")
    print(
        "| system | model | seed | test accuracy | macro recall | best/ran epochs | wall s | "
        "CPU s | peak MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for model in models:
        for seed in seeds:
            for system in systems:
                r = runs.get((system, model, seed))
                if r is None:
                    continue
                acc, macro = r.get("test_accuracy"), r.get("test_macro_recall")
                print(
                    f"| {system} | {model} | {seed} | {_fmt(_pct(acc), '.1f', '%')} | "
                    f"{_fmt(_pct(macro), '.1f', '%')} | "
                    f"{_epochs(r)} | {_fmt(r.get('wall_s'), '.0f')} | {_fmt(r.get('cpu_s'), '.0f')} | "
                    f"{_fmt(r.get('peak_mb'), '.0f')} |"
                )
    if set(systems) != set(SYSTEMS):
        return
    print("\n## mmkeras / Ludwig, each pair run back to back\n")
    print(
        "| model | seed | accuracy Ludwig | accuracy mmkeras | difference | wall ratio | "
        "CPU ratio | peak memory ratio |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for model in models:
        sums = {"diff": [], "wall": [], "cpu": [], "peak": []}
        for seed in seeds:
            pair = {s: runs.get((s, model, seed), {}) for s in SYSTEMS}
            la, ma = pair["ludwig"].get("test_accuracy"), pair["mmkeras"].get("test_accuracy")
            diff = None if la is None or ma is None else 100 * (ma - la)
            wall, cpu, peak = (_ratio(pair, k) for k in ("wall_s", "cpu_s", "peak_mb"))
            for key, value in zip(sums, (diff, wall, cpu, peak), strict=True):
                if value is not None and la is not None and ma is not None:
                    sums[key].append(value)
            print(
                f"| {model} | {seed} | {_fmt(_pct(la), '.1f', '%')} | "
                f"{_fmt(_pct(ma), '.1f', '%')} | {_fmt(diff, '+.1f', ' pts')} | "
                f"{_fmt(wall, '.2f', 'x')} | {_fmt(cpu, '.2f', 'x')} | {_fmt(peak, '.2f', 'x')} |"
            )
        if len(seeds) > 1 and all(len(v) == len(seeds) for v in sums.values()):
            mean = {k: sum(v) / len(v) for k, v in sums.items()}
            print(
                f"| {model} | mean | | | {mean['diff']:+.1f} pts | {mean['wall']:.2f}x | "
                f"{mean['cpu']:.2f}x | {mean['peak']:.2f}x |"
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument(
        "--batch-size", type=int, default=32, help="Ludwig's; mmkeras: the config's"
    )
    parser.add_argument("--models", nargs="+", choices=MODELS, default=["concat"])
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    parser.add_argument("--out", help="write every run, config and measurement as JSON here")
    parser.add_argument(
        "--quick", action="store_true", help="1 epoch, concat, seed 0: a smoke test"
    )
    parser.add_argument("--ludwig-python", default="/work/ludwig-venv/bin/python")
    parser.add_argument(
        "--mmkeras",
        default=os.path.join(os.path.dirname(sys.executable), "mmkeras"),
        help="the mmkeras command (default: beside this Python)",
    )
    parser.add_argument(
        "--mmkeras-config", default=os.path.join(ROOT, "examples", "configs", "av_digits.yaml")
    )
    parser.add_argument(
        "--mmkeras-fusion", help="override the config's fusion (default: as shipped)"
    )
    parser.add_argument("--work-dir", help="where runs are written (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the runs' folders")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per child process")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.models, args.seeds = 1, ["concat"], [0]
    args.seeds, args.models = list(dict.fromkeys(args.seeds)), list(dict.fromkeys(args.models))

    with open(args.mmkeras_config, encoding="utf-8") as f:
        shipped = yaml.safe_load(f)
    if shipped.get("data", {}).get("batch_size") != args.batch_size:
        print(
            f"note: {args.mmkeras_config} has batch_size {shipped.get('data', {}).get('batch_size')}, "
            f"Ludwig runs with {args.batch_size}"
        )
    work_root = args.work_dir or tempfile.mkdtemp(prefix="peers-ludwig-")
    os.makedirs(work_root, exist_ok=True)
    meta = {
        "command": " ".join([sys.executable] + sys.argv),
        "git_log": _git("log", "--oneline", "-3").splitlines(),
        "uncommitted_files_under_mmkeras_and_examples": _git(
            "status", "--porcelain", "--", "mmkeras", "examples"
        ).splitlines(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "loadavg_start": os.getloadavg(),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "seeds": args.seeds,
        "models": args.models,
        "systems": args.systems,
        "mmkeras_config": args.mmkeras_config,
        "work_dir": work_root,
    }
    print("git log --oneline | head -3:\n  " + "\n  ".join(meta["git_log"]))
    print(
        f"uncommitted changes under mmkeras/ and examples/: "
        f"{len(meta['uncommitted_files_under_mmkeras_and_examples'])} files (mmkeras is measured "
        "as it is in the working tree)"
    )
    print(
        f"load average at start: {meta['loadavg_start']}, {os.cpu_count()} CPUs; work dir {work_root}"
    )

    print(f"\n## Configs ({args.epochs} epochs; seeds {args.seeds})")
    manifests = {split: os.path.join(DATA, f"{split}.csv") for split in SPLITS}
    for model in args.models:
        if "ludwig" in args.systems:
            print(
                f"\n### Ludwig, {model} (seed: `LudwigModel.train(random_seed=SEED)`; "
                "image and audio paths made absolute in copies of the manifests)\n"
            )
            print(_dump(ludwig_config(model, args.epochs, args.batch_size)))
        if "mmkeras" in args.systems:
            print(
                f"### mmkeras, {model} (seed {args.seeds[0]}; other seeds differ only in `seed:`; "
                f"trained with `--epochs {args.epochs}`)\n"
            )
            config = mmkeras_config(
                args.mmkeras_config,
                model,
                args.seeds[0],
                manifests,
                args.epochs,
                args.mmkeras_fusion,
            )
            print(_dump(config))

    runs, pair_index = {}, 0
    results = {"meta": meta, "runs": []}
    for seed in args.seeds:
        for model in args.models:
            order = list(args.systems) if pair_index % 2 == 0 else list(reversed(args.systems))
            pair_index += 1
            for system in order:
                work = os.path.join(work_root, f"{system}-{model}-seed{seed}")
                if os.path.exists(work):
                    shutil.rmtree(work)
                print(
                    f"\n[{time.strftime('%H:%M:%S')}] {system} {model} seed {seed} ...", flush=True
                )
                runner = run_ludwig if system == "ludwig" else run_mmkeras
                head = _git("rev-parse", "--short", "HEAD")
                record = runner(args, model, seed, work)
                record.update(
                    system=system, model=model, seed=seed, git_head=head, loadavg=os.getloadavg()
                )
                runs[(system, model, seed)] = record
                results["runs"].append(record)
                if "error" in record:
                    print(f"  FAILED (exit {record.get('returncode')}); log {record['log']}:")
                    print("  " + record["error"].replace("\n", "\n  "))
                else:
                    print(
                        f"  test accuracy {100 * record['test_accuracy']:.1f}% (best epoch "
                        f"{_epochs(record)}), wall {record['wall_s']:.0f} s, CPU "
                        f"{record['cpu_s']:.0f} s, peak {record['peak_mb']:.0f} MB",
                        flush=True,
                    )
                    if not args.keep:
                        for sub in ("results", "runs"):
                            shutil.rmtree(os.path.join(work, sub), ignore_errors=True)
                if args.out:  # after every run, so a long comparison can be read as it goes
                    _write_json(args.out, results)

    meta["loadavg_end"] = os.getloadavg()
    print_tables(runs, args.models, args.seeds, args.systems)
    print(
        "\nwall: whole child processes (start-up, data, training, evaluation); CPU: user+system; "
        "mmkeras = train + evaluate processes; ratios are mmkeras/Ludwig of runs made back to back."
    )
    print(f"load average: start {meta['loadavg_start']}, end {meta['loadavg_end']}")
    if args.out:
        _write_json(args.out, results)
        print(f"wrote {args.out}")
    failed = any("error" in r for r in results["runs"])
    if failed:
        print(f"some runs failed; their logs are kept in {work_root}")
    elif not args.keep and not args.work_dir:
        shutil.rmtree(work_root, ignore_errors=True)
    return 1 if failed else 0


def _write_json(path, results):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2, default=str)
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
