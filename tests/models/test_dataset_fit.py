"""`fit` of an mmkeras model on a tf.data dataset does not warn about `shuffle`."""

import warnings

import numpy as np
import tensorflow as tf

import mmkeras as mk


def _model():
    return mk.build_model(
        branches={"x": mk.branches.tabular_mlp(num_features=3, hidden_units=(4,), output_dim=4)},
        fusion="concat",
        task=mk.tasks.Classification(num_classes=2),
    )


def _fit(model, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(*args, epochs=1, verbose=0, **kwargs)
    return [str(w.message) for w in caught if "shuffle" in str(w.message)]


def test_fit_on_a_dataset_does_not_warn_about_shuffle():
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    y = np.arange(16) % 2
    ds = tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(8)
    assert _fit(_model(), ds) == []
    assert _fit(_model(), x=ds) == []


def test_an_explicit_shuffle_on_a_dataset_still_reaches_keras():
    x = np.zeros((8, 3), "float32")
    ds = tf.data.Dataset.from_tensor_slices(({"x": x}, np.zeros(8, "int32"))).batch(4)
    assert len(_fit(_model(), ds, shuffle=True)) == 1


def test_arrays_are_still_shuffled_by_default(monkeypatch):
    import keras

    seen = {}
    real = keras.Model.fit

    def spy(self, *args, **kwargs):
        seen["shuffle"] = kwargs.get("shuffle", "default")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", spy)
    _fit(_model(), {"x": np.zeros((8, 3), "float32")}, np.zeros(8, "int32"))
    assert seen["shuffle"] == "default"  # Keras's own default: shuffled
