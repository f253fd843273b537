"""Training throughput of one worker vs two local workers (MultiWorkerMirroredStrategy).

Compares, side by side in one run on this machine, the steady-state training speed in
samples/s of the same job (`mmkeras` tabular MLP, TFRecord shards read by file, global batch
64) run by `LocalCluster` as 1 worker process and as 2 worker processes on 127.0.0.1.
Start-up (imports, pipeline, records, cluster setup) is removed by timing each job with a few
epochs and with more epochs: samples/s = extra samples / extra seconds.

Two local workers share this machine's cores, so the ratio measures the cost of the
multi-worker machinery (gradient all-reduce over gRPC at every step, two processes) rather
than a speed-up: the gain of more workers needs more machines (or cores) than one worker can
use.

    python benchmarks/multiworker.py [--rows 4096] [--epochs 2 6]
"""

import argparse
import csv
import io
import os
import sys
import tempfile
import time

import numpy as np
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from mmkeras.train.local_cluster import LocalCluster  # noqa: E402


def write_rows(path, n, seed=0):
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([f"f{i}" for i in range(16)] + ["label"])
        for _ in range(n):
            x = rng.normal(size=16)
            writer.writerow([*np.round(x, 4), int(x[:4].sum() > 0)])


def job(folder, name, epochs, batch_size):
    config = {
        "name": name,
        "output_dir": os.path.join(folder, "runs"),
        "data": {
            "train": "train.csv",
            "schema": {"x": [f"f{i}" for i in range(16)], "label": "label"},
            "specs": {"x": {"modality": "tabular"}},
            "batch_size": batch_size,
            "shards": 8,
        },
        "model": {
            "branches": {
                "x": {"kind": "tabular_mlp", "hidden_units": [256, 256], "output_dim": 64}
            },
            "task": {"kind": "classification"},
        },
        "train": {"epochs": epochs, "verbose": 0, "strategy": "multi_worker"},
        "callbacks": {"tensorboard": False},
    }
    path = os.path.join(folder, f"{name}.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(config, f)
    return path


def timed_run(folder, workers, epochs, batch_size):
    name = f"w{workers}_e{epochs}"
    config = job(folder, name, epochs, batch_size)
    log = io.StringIO()
    cluster = LocalCluster(
        [sys.executable, "-m", "mmkeras", "train", config, "--quiet"],
        num_workers=workers,
        max_restarts=0,
        env={"PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"},
        output=log,
    )
    start = time.perf_counter()
    code = cluster.run()
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"{name} failed:\n{log.getvalue()[-3000:]}")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, nargs=2, default=(2, 6))
    args = parser.parse_args()
    few, many = args.epochs
    print(
        f"{os.cpu_count()} CPU cores; {args.rows} rows, global batch {args.batch_size}, "
        f"MLP 16-256-256-64-2, 8 TFRecord shards; epochs {few} vs {many}"
    )
    with tempfile.TemporaryDirectory() as folder:
        write_rows(os.path.join(folder, "train.csv"), args.rows)
        speed = {}
        for workers in (1, 2):
            short = timed_run(folder, workers, few, args.batch_size)
            long = timed_run(folder, workers, many, args.batch_size)
            rows = (args.rows // args.batch_size) * args.batch_size
            speed[workers] = (many - few) * rows / (long - short)
            print(
                f"{workers} worker(s): {few} epochs {short:.1f} s, {many} epochs {long:.1f} s "
                f"-> {speed[workers]:.0f} samples/s"
            )
    print(f"2 workers / 1 worker: {speed[2] / speed[1]:.2f}x")


if __name__ == "__main__":
    main()
