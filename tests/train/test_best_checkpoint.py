"""A run's model.keras holds the best epoch's weights (or the last epoch's when asked)."""

import json
import os

import numpy as np
import pytest

import mmkeras as mk
from mmkeras.config import from_dict


def _weights(path):
    return mk.load_model(path).get_weights()


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("keep", ["best", "final"])
def test_model_keras_holds_the_kept_weights(tabular_config, keep):
    # Monitoring the *largest* validation loss makes an early epoch the best one.
    config = tabular_config(
        name=keep,
        train={"epochs": 3, "verbose": 0},
        callbacks={
            "tensorboard": False,
            "checkpoint": {"monitor": "val_loss", "mode": "max", "keep": keep},
        },
    )
    run = mk.train.fit(from_dict(config, base_dir=tabular_config.dir), verbose=False)
    folder = os.path.join(run.run_dir, "checkpoints")
    with open(os.path.join(folder, "best.json"), encoding="utf-8") as f:
        info = json.load(f)
    losses = [row["val_loss"] for row in run.history]
    assert info["epoch"] == int(np.argmax(losses)) + 1 and info["monitor"] == "val_loss"
    assert info["value"] == pytest.approx(max(losses), rel=1e-6)
    model = _weights(os.path.join(run.run_dir, "model.keras"))
    best, last = (
        _weights(os.path.join(folder, "best.keras")),
        _weights(os.path.join(folder, "last.keras")),
    )
    assert info["epoch"] != 3, "the set-up must make an earlier epoch the best"
    assert _same(model, best if keep == "best" else last)
    assert not _same(model, last if keep == "best" else best)
