"""Tiny tabular data, run configurations and a worker script for the multi-worker tests."""

import os
import sys

import pytest
import yaml
from tabular_data import write_tabular

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Each worker trains through the public API and saves the weights it ended with, so that a test
# can compare the workers.
WORKER_SCRIPT = """
import json, os, sys
import numpy as np
import mmkeras as mk

run = mk.train.fit(sys.argv[1])
index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
np.savez(os.path.join(sys.argv[2], f"weights-{index}.npz"), *run.model.get_weights())
"""


@pytest.fixture
def worker_env():
    """Environment of a worker process: this checkout importable, small thread pools."""
    path = os.environ.get("PYTHONPATH", "")
    return {
        "PYTHONPATH": ROOT + (os.pathsep + path if path else ""),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        # Two workers share two cores: keep each from spawning a pool per core.
        "TF_NUM_INTEROP_THREADS": "1",
        "TF_NUM_INTRAOP_THREADS": "1",
    }


@pytest.fixture
def multi_worker_config(tmp_path):
    """A function writing a multi-worker YAML config under `tmp_path`; returns its path."""
    write_tabular(tmp_path / "train.csv", 256, seed=1)
    write_tabular(tmp_path / "val.csv", 40, seed=2)

    def make(name="job", epochs=2, shards=None, **train):
        config = {
            "name": name,
            "output_dir": str(tmp_path / "runs"),
            "seed": 5,
            "data": {
                "train": "train.csv",
                "validation": "val.csv",
                "schema": {"x": ["a", "b", "c"], "label": "label"},
                "specs": {"x": {"modality": "tabular"}},
                "batch_size": 32,
                "shards": shards,
            },
            "model": {
                "branches": {"x": {"kind": "tabular_mlp", "hidden_units": [8], "output_dim": 8}},
                "task": {"kind": "classification"},
                "modality_dropout": 0.0,
            },
            "optimizer": {"learning_rate": 0.01},
            "train": {"epochs": epochs, "verbose": 0, "strategy": "multi_worker", **train},
            "callbacks": {"tensorboard": False},
        }
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config))
        return str(path)

    make.dir = tmp_path
    make.python = sys.executable
    return make


@pytest.fixture
def worker_script(tmp_path):
    """Path of a script `worker.py CONFIG OUT_DIR` that trains and saves its final weights."""
    path = tmp_path / "worker.py"
    path.write_text(WORKER_SCRIPT)
    return str(path)
