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
