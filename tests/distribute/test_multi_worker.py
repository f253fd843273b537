"""Multi-worker training on two local worker processes (127.0.0.1 only)."""

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import mmkeras as mk
from mmkeras.train.local_cluster import LocalCluster


def _weights(path):
    with np.load(path) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


@pytest.mark.slow
def test_two_workers_train_on_tfrecord_shards_and_end_with_equal_weights(
    multi_worker_config, worker_script, worker_env
):
    config = multi_worker_config(epochs=2, shards=4)
    out = multi_worker_config.dir
    temp = out / "temp"  # the workers' temporary folder (TMPDIR)
    temp.mkdir()
    log = io.StringIO()
    cluster = LocalCluster(
        [sys.executable, worker_script, config, str(out)],
        num_workers=2,
        max_restarts=0,
        env={**worker_env, "TMPDIR": str(temp)},
        output=log,
    )
    assert cluster.run() == 0, log.getvalue()[-4000:]
    text = log.getvalue()
    assert "sharded by file over 2 workers" in text
    assert "[worker 0]" in text and "[worker 1]" in text

    run_dir = out / "runs" / "job"
    assert {"model.keras", "metrics.json", "metrics.csv", "config.yaml"} <= set(os.listdir(run_dir))
    assert {"best.keras", "last.keras"} <= set(os.listdir(run_dir / "checkpoints"))
    assert len((run_dir / "metrics.csv").read_text().strip().splitlines()) == 1 + 2
    # Only the chief wrote into the run directory.
    assert not [n for n in os.listdir(run_dir) if n.startswith(("mmkeras-", ".tmp"))]
    # Worker 1 wrote its copies into a temporary folder of its own, and removed it at the end.
    assert not [n for n in os.listdir(temp) if n.startswith("mmkeras-")]

    chief, other = _weights(out / "weights-0.npz"), _weights(out / "weights-1.npz")
    assert len(chief) == len(other) > 0
    for a, b in zip(chief, other, strict=True):
        np.testing.assert_array_equal(a, b)
    saved = mk.train.Run.load(run_dir)
    for a, b in zip(saved.model.get_weights(), chief, strict=True):
        np.testing.assert_array_equal(a, b)
    assert [row["epoch"] for row in saved.history] == [0, 1]
    assert saved.metrics["validation"]["accuracy"] > 0.6


def _launch(config, *flags):
    """Starts `mmkeras launch-local` and a thread collecting its output lines."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mmkeras", "launch-local", "--workers", "2", *flags, config],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **_ENV},
    )
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    return proc, lines, reader


@pytest.mark.slow
def test_a_killed_worker_makes_the_launcher_restart_the_cluster_which_resumes(
    multi_worker_config, worker_env
):
    _ENV.update(worker_env)
    epochs = 6
    config = multi_worker_config(name="killed", epochs=epochs)
    state_path = multi_worker_config.dir / "runs" / "killed" / "backup" / "state.json"
    proc, lines, reader = _launch(config, "--max-restarts", "2")
    killed = None
    try:
        deadline = time.monotonic() + 240
        while killed is None and time.monotonic() < deadline and proc.poll() is None:
            state = json.loads(state_path.read_text()) if state_path.exists() else {}
            pids = [ln for ln in list(lines) if "[launch-local] worker 1 started: pid" in ln]
            if state.get("epoch", 0) >= 1 and not state.get("complete") and pids:
                killed = int(pids[-1].split("pid ")[1].split(",")[0])
                os.kill(killed, signal.SIGKILL)
            time.sleep(0.05)
        code = proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=10)
    text = "".join(lines)
    assert code == 0, text[-5000:]
    assert killed is not None, text[-3000:]
    assert "worker 1 failed (signal SIGKILL)" in text
    assert "restarting the cluster (1 of 2)" in text
    assert "[worker 0]   resuming: stage 1, epoch" in text
    assert "sharded by element" in text

    run = mk.train.Run.load(multi_worker_config.dir / "runs" / "killed")
    assert [row["epoch"] for row in run.history] == list(range(epochs))
    assert json.loads(state_path.read_text()) == {"complete": True}
    assert run.metrics["validation"]["accuracy"] > 0.6


_ENV = {}
