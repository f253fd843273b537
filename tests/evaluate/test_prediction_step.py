"""The prediction step of `report` / `ablation`: one graph per model, no retracing warnings."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import mmkeras as mk
from mmkeras.evaluate.predictions import predict_batch, prediction_step

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _model():
    inputs = {
        "a": keras.Input((4,), name="a"),
        "b": keras.Input((3,), name="b"),
        "present": keras.Input((2,), name="present"),
    }
    h = keras.layers.Concatenate()([inputs["a"], inputs["b"], inputs["present"]])
    h = keras.layers.Dense(8, activation="relu")(h)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="label")(h))


def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    x = {"a": rng.normal(size=(n, 4)), "b": rng.normal(size=(n, 3))}  # float64, as users have it
    return x, rng.integers(0, 3, size=n)


def test_one_step_per_model_matches_keras_predict_on_every_batch_size():
    model = _model()
    assert prediction_step(model) is prediction_step(model)
    x, _ = _data(23)
    expected = model.predict({**x, "present": np.ones((23, 2))}, verbose=0)
    for size in (23, 8, 5, 1):
        got = np.concatenate(
            [
                predict_batch(model, {k: v[i : i + size] for k, v in x.items()})["label"]
                for i in range(0, 23, size)
            ]
        )
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_list_input_model_takes_a_dict_keyed_by_input_name():
    a, b = keras.Input((2,), name="a"), keras.Input((1,), name="b")
    model = keras.Model([a, b], keras.layers.Dense(1)(keras.layers.Concatenate()([a, b])))
    x = {"b": np.ones((4, 1)), "a": np.zeros((4, 2))}
    expected = model.predict([x["a"], x["b"]], verbose=0)
    np.testing.assert_allclose(prediction_step(model)(x), expected, rtol=1e-6)


@pytest.mark.slow
def test_report_and_ablation_on_several_models_print_no_retracing_warning():
    """A notebook comparing models evaluates several in one process, on a few batches each.

    Keras's `predict_on_batch` traced twice per model (full and last batch) with one counter for
    all models: TensorFlow then warned "5 out of the last 6 calls ... triggered tf.function
    retracing". A fresh process, so that other tests' models do not count.
    """
    script = textwrap.dedent(
        """
        import warnings
        warnings.simplefilter("always")
        import keras, numpy as np
        import mmkeras as mk
        from tests.evaluate.test_prediction_step import _data, _model

        x, y = _data(40)
        models = [_model() for _ in range(6)]
        for model in models:
            print(mk.evaluate.report(model, (x, y), batch_size=16)["label"]["num_samples"])
        for model in models:
            mk.evaluate.ablation(model, (x, y), batch_size=16)
        """
    )
    env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["40"] * 6
    assert "retracing" not in out.stderr + out.stdout, out.stderr


def test_report_reads_float64_and_int64_data():
    model = _model()
    x, y = _data(10)
    report = mk.evaluate.report(model, (x, y.astype("int64")), batch_size=4)
    assert report["label"]["num_samples"] == 10
