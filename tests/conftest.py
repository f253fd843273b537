"""Shared pytest setup: quiet TensorFlow start-up, deterministic seeds, small helpers."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from tabular_data import tabular_run_config, write_tabular  # noqa: E402


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
        config = tabular_run_config(tmp_path, name)
        for key, value in sections.items():
            if isinstance(value, dict) and isinstance(config.get(key), dict):
                config[key] = {**config[key], **value}
            else:
                config[key] = value
        return config

    make.dir = tmp_path
    return make
