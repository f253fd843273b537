"""`TimeLimit` and `train.time_limit`: training stops when its wall-clock budget is spent."""

import keras
import numpy as np
import pytest

import mmkeras as mk
from mmkeras.train.run_callbacks import make_callbacks


def _tiny_model():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_a_spent_budget_stops_fit_after_one_batch():
    x, y = np.zeros((64, 4), "float32"), np.zeros((64, 1), "float32")
    limit = mk.train.TimeLimit(1e-9)
    history = _tiny_model().fit(x, y, batch_size=8, epochs=5, callbacks=[limit], verbose=0)
    assert limit.stopped
    assert len(history.history["loss"]) == 1


def test_a_generous_budget_changes_nothing():
    x, y = np.zeros((64, 4), "float32"), np.zeros((64, 1), "float32")
    limit = mk.train.TimeLimit(3600)
    history = _tiny_model().fit(x, y, batch_size=8, epochs=3, callbacks=[limit], verbose=0)
    assert not limit.stopped
    assert len(history.history["loss"]) == 3


@pytest.mark.parametrize("bad", [0, -1, "60", True, None])
def test_bad_seconds_are_refused(bad):
    with pytest.raises(
        ValueError, match="TimeLimit: `seconds` must be a positive number; received seconds="
    ):
        mk.train.TimeLimit(bad)


def test_config_time_limit_adds_the_callback(tmp_path):
    data = {
        "name": "t",
        "data": {"train": "train.csv", "schema": {"x": ["a"], "label": "y"}},
        "model": {"branches": {"x": {"kind": "tabular_mlp"}}},
        "train": {"time_limit": 30},
    }
    config = mk.config.from_dict(data, base_dir=str(tmp_path))
    _, plain = make_callbacks(config, str(tmp_path), False, None)
    (limit,) = [cb for cb in plain if isinstance(cb, mk.train.TimeLimit)]
    assert limit.seconds == 30.0
    with pytest.raises(mk.config.ConfigError, match="time_limit"):
        mk.config.from_dict({**data, "train": {"time_limit": 0}}, base_dir=str(tmp_path))
