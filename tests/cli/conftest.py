"""Tiny tabular data and configurations written by the tests."""

import csv

import numpy as np
import pytest


def write_tabular(path, n, seed, noise=0.0):
    """Rows (a, b, c, label): the label is the sign of a + b; `noise` flips that share of labels."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["a", "b", "c", "label"])
        for _ in range(n):
            x = rng.normal(size=3)
            positive = x[0] + x[1] > 0
            if rng.random() < noise:
                positive = not positive
            writer.writerow([*np.round(x, 4), "pos" if positive else "neg"])
    return str(path)


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
