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
    log = io.StringIO()
    cluster = LocalCluster(
        [sys.executable, worker_script, config, str(out)],
        num_workers=2,
        max_restarts=0,
        env=worker_env,
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

    chief, other = _weights(out / "weights-0.npz"), _weights(out / "weights-1.npz")
    assert len(chief) == len(other) > 0
    for a, b in zip(chief, other, strict=True):
        np.testing.assert_array_equal(a, b)
    import keras

    saved = keras.saving.load_model(run_dir / "model.keras", safe_mode=True)
    for a, b in zip(saved.get_weights(), chief, strict=True):
        np.testing.assert_array_equal(a, b)
    assert json.loads((run_dir / "metrics.json").read_text())["validation"]["accuracy"] > 0.6
