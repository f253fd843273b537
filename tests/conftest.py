"""Shared pytest setup: quiet TensorFlow start-up, deterministic seeds, small helpers."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from tabular_data import write_tabular  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    # Seeding is cheap; clearing the Keras session after every test is not (seconds per test on a
    # busy machine), and layer names need not restart for these tests.
    import keras

    keras.utils.set_random_seed(0)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def tabular_config(tmp_path):
    """A function returning a config dict for a small tabular run under `tmp_path`."""
    write_tabular(tmp_path / "train.csv", 64, seed=1)
    write_tabular(tmp_path / "val.csv", 32, seed=2)

    def make(name="run", **sections):
        config = {
            "name": name,
            "output_dir": str(tmp_path / "runs"),
            "seed": 3,
            "data": {
                "train": "train.csv",
                "validation": "val.csv",
                "schema": {"x": ["a", "b", "c"], "label": "label"},
                "specs": {"x": {"modality": "tabular"}},
                "batch_size": 16,
            },
            "model": {
                "branches": {"x": {"kind": "tabular_mlp", "hidden_units": [8], "output_dim": 8}},
                "task": {"kind": "classification"},
            },
            "train": {"epochs": 2, "verbose": 0},
            "callbacks": {"tensorboard": False},
        }
        for key, value in sections.items():
            if isinstance(value, dict) and isinstance(config.get(key), dict):
                config[key] = {**config[key], **value}
            else:
                config[key] = value
        return config

    make.dir = tmp_path
    return make
