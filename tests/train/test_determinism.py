"""Same seed, same numbers: `deterministic: true` runs repeat exactly on one machine."""

import csv

import numpy as np
import pytest
from image_data import image_run_config

import mmkeras as mk
from mmkeras.config import ConfigError, from_dict
from mmkeras.train import determinism


@pytest.fixture
def op_determinism():
    yield
    # A process-wide switch: leave the rest of the suite as it found it.
    determinism.disable()


def _metrics(run_dir):
    with open(run_dir / "metrics.csv", newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def test_two_deterministic_runs_give_identical_metrics_and_weights(tmp_path, op_determinism):
    # Images with OpenCV augmentation (run in a parallel map, seeded per element), modality
    # dropout over two inputs, dropout in the branch: every random source of a real run.
    config = image_run_config(tmp_path, "a", num_images=24, errors="skip", epochs=3)
    config["seed"] = 5
    config["deterministic"] = True
    config["data"]["schema"] = {"image": "image", "copy": "image", "label": "label"}
    config["data"]["specs"] = {"copy": {"modality": "image", "size": [8, 8]}}
    config["data"]["image"]["augment"] = {"rotation": 20, "flip": "horizontal", "cutout": 0.2}
    config["data"]["validation"] = "train.csv"
    branch = {"kind": "image_cnn", "filters": [4], "output_dim": 4, "dropout": 0.3}
    config["model"] = {
        "branches": {"image": branch, "copy": branch},
        "fusion": "concat",
        "modality_dropout": 0.3,
        "task": {"kind": "classification"},
    }
    runs = []
    for name in ("a", "b"):
        config["name"] = name
        runs.append(mk.train.fit(from_dict(config, base_dir=tmp_path), verbose=False))
    first, second = (_metrics(tmp_path / "runs" / name) for name in ("a", "b"))
    assert len(first) == 3
    assert first == second
    assert runs[0].metrics == runs[1].metrics
    weights = [run.model.get_weights() for run in runs]
    assert len(weights[0]) == len(weights[1])
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_deterministic_is_a_top_level_bool_that_defaults_to_off(tabular_config):
    assert from_dict(tabular_config(), base_dir=tabular_config.dir).deterministic is False
    config = from_dict(tabular_config(deterministic=True), base_dir=tabular_config.dir)
    assert config.deterministic is True
    with pytest.raises(ConfigError, match="deterministic"):
        from_dict(tabular_config(deterministic="sometimes"), base_dir=tabular_config.dir)


def test_enable_rejects_a_seed_that_is_not_a_non_negative_int():
    with pytest.raises(ValueError, match="non-negative int, received -1"):
        determinism.enable(-1)
    with pytest.raises(ValueError, match="received True"):
        determinism.enable(True)
