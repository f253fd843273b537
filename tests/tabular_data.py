"""Tiny tabular manifests written by the tests (label: the sign of a + b)."""

import csv

import numpy as np


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


def tabular_run_config(folder, name="run", validation="val.csv", epochs=2):
    """A run configuration dict training a small MLP on `folder/train.csv` (and `validation`,
    unless None), written with `write_tabular`; paths relative to `folder`."""
    data = {
        "train": "train.csv",
        "validation": validation,
        "schema": {"x": ["a", "b", "c"], "label": "label"},
        "specs": {"x": {"modality": "tabular"}},
        "batch_size": 16,
    }
    if validation is None:
        del data["validation"]
    return {
        "name": name,
        "output_dir": str(folder / "runs"),
        "seed": 3,
        "data": data,
        "model": {
            "branches": {"x": {"kind": "tabular_mlp", "hidden_units": [8], "output_dim": 8}},
            "task": {"kind": "classification"},
        },
        "train": {"epochs": epochs, "verbose": 0},
        "callbacks": {"tensorboard": False},
    }
