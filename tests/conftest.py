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


@pytest.fixture(scope="session")
def quick_demo(tmp_path_factory):
    """One `mmkeras demo --quick --seed 3` run, shared by the suite (it takes half a minute).

    It runs as a user runs it: `python -m mmkeras` in a fresh folder, this checkout first on
    `PYTHONPATH`, as the README command test runs every command (that test takes this run as its
    `mmkeras demo`; tests/cli/test_demo.py checks what it printed and wrote). Returns the
    `subprocess.CompletedProcess` with `run_dir` (the one `runs/demo-*` folder, or None) added.
    """
    import subprocess
    import sys

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cwd = tmp_path_factory.mktemp("quick_demo")
    env = {
        **os.environ,
        "PYTHONPATH": repo + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "CI": "true",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    result = subprocess.run(
        [sys.executable, "-m", "mmkeras", "demo", "--quick", "--seed", "3"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    run_dirs = sorted((cwd / "runs").glob("demo-*"))
    result.run_dir = run_dirs[0] if len(run_dirs) == 1 else None
    return result
