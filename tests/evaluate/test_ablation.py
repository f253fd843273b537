import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

import mmkeras as mk


class MaskedAttentionFusion(keras.layers.Layer):
    """Softmax attention over modality features; absent modalities get weight 0."""

    def build(self, input_shape):
        self.score = keras.layers.Dense(1)
        self.score.build((None, len(input_shape), input_shape[0][-1]))

    def call(self, features, present):
        stacked = ops.stack(features, axis=1)  # (B, M, D)
        scores = ops.squeeze(self.score(stacked), axis=-1)
        scores = ops.where(present > 0, scores, -1e9)
        weights = ops.softmax(scores, axis=-1) * ops.cast(present > 0, "float32")
        fused = ops.sum(stacked * weights[..., None], axis=1)
        return fused, weights


def _model(with_attention=True):
    inputs = {
        "a": keras.Input((4,), name="a"),
        "b": keras.Input((4,), name="b"),
        "present": keras.Input((2,), name="present"),
    }
    features = [
        keras.layers.Dense(8, activation="tanh")(inputs["a"]),
        keras.layers.Dense(8, activation="tanh")(inputs["b"]),
    ]
    if with_attention:
        fused, _ = MaskedAttentionFusion(name="fusion")(features, inputs["present"])
    else:
        gate = keras.layers.Dense(8)(inputs["present"])
        fused = keras.layers.Add()([*features, gate])
    outputs = keras.layers.Dense(2, activation="softmax", name="label")(fused)
    return keras.Model(inputs, outputs)


def _data(n, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, 4)).astype("float32")
    b = rng.normal(size=(n, 4)).astype("float32")
    y = (a[:, 0] + a[:, 1] > 0).astype("int64")  # only modality "a" carries the label
    return {"a": a, "b": b}, y


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(1)
    model = _model()
    x, y = _data(256, seed=1)
    # Random presence masks during training, so the model learns to work without either input.
    present = (np.random.default_rng(2).random((256, 2)) < 0.8).astype("float32")
    present[present.sum(axis=1) == 0] = 1.0
    model.compile(optimizer=keras.optimizers.Adam(0.03), loss="sparse_categorical_crossentropy")
    model.fit({**x, "present": present}, y, epochs=12, batch_size=32, verbose=0)
    return model


@pytest.mark.slow  # trains the shared toy model
def test_removing_the_informative_modality_drops_accuracy(trained):
    x, y = _data(200, seed=3)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(50)
    result = mk.evaluate.ablation(trained, ds)
    assert result.modalities == ["a", "b"] and result.metric == "accuracy"
    assert [row["setting"] for row in result.rows] == [
        "all modalities",
        "without a",
        "without b",
        "only a",
        "only b",
    ]
    full = result["all modalities"]["value"]
    assert full > 0.85
    assert result["without a"]["value"] < 0.7
    assert result["without b"]["value"] >= full - 0.05
    assert result["only a"]["value"] == result["without b"]["value"]
    assert result["without a"]["change"] < -0.15
    assert result["only a"]["attention"] == pytest.approx({"a": 1.0, "b": 0.0})
    assert result["only b"]["attention"] == pytest.approx({"a": 0.0, "b": 1.0})
    assert sum(result["all modalities"]["attention"].values()) == pytest.approx(1.0)
    text = str(result)
    assert "without a" in text and "attention b" in text
    # The same number as the metric report with everything present.
    report = mk.evaluate.report(trained, ds)
    assert report["label"]["metrics"]["accuracy"] == pytest.approx(full)


@pytest.mark.slow  # trains the shared toy model
def test_presence_from_the_data_is_multiplied_in(trained):
    x, y = _data(200, seed=3)
    without_b = np.tile(np.array([[1.0, 0.0]], dtype="float32"), (200, 1))
    reference = mk.evaluate.ablation(trained, (x, y))
    masked = mk.evaluate.ablation(trained, ({**x, "present": without_b}, y))
    assert masked["all modalities"]["value"] == reference["without b"]["value"]
    assert masked["without a"]["present"] == ["b"]
    assert masked["without a"]["attention"] == pytest.approx({"a": 0.0, "b": 0.0})


@pytest.mark.slow  # trains the shared toy model
def test_explicit_modality_order_names_the_columns(trained):
    x, y = _data(200, seed=3)
    # Claiming column 0 is "b": removing "b" now switches off the informative column.
    swapped = mk.evaluate.ablation(trained, (x, y), modalities=["b", "a"])
    assert swapped["without b"]["value"] < 0.7
    with pytest.raises(ValueError, match="2 columns"):
        mk.evaluate.ablation(trained, (x, y), modalities=["a", "b", "c"])


@pytest.mark.slow  # trains the shared toy model
def test_chosen_metric_by_name_or_callable(trained):
    x, y = _data(100, seed=4)
    by_name = mk.evaluate.ablation(trained, (x, y), metric="roc_auc_macro")
    assert by_name.metric == "roc_auc_macro" and by_name["all modalities"]["value"] > 0.9

    def error_rate(y_true, y_pred):
        return float(np.mean(np.argmax(y_pred, axis=1) != y_true))

    by_callable = mk.evaluate.ablation(trained, (x, y), metric=error_rate)
    assert by_callable.metric == "error_rate"
    assert by_callable["without a"]["value"] > by_callable["all modalities"]["value"]
    with pytest.raises(ValueError, match="Unknown `metric` 'bleu'"):
        mk.evaluate.ablation(trained, (x, y), metric="bleu")


def test_model_without_attention_fusion_has_no_attention_column(tmp_path):
    x, y = _data(20, seed=5)
    result = mk.evaluate.ablation(_model(with_attention=False), (x, y))
    assert not result.has_attention and "attention" not in result.table()
    loaded = result.to_json(tmp_path / "ablation.json")
    with open(loaded) as f:
        assert '"without a"' in f.read()


def test_model_without_presence_input_is_an_error():
    inputs = {"a": keras.Input((4,), name="a"), "b": keras.Input((4,), name="b")}
    merged = keras.layers.Concatenate()([inputs["a"], inputs["b"]])
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(merged))
    x, y = _data(10, seed=6)
    with pytest.raises(ValueError, match="'present'"):
        mk.evaluate.ablation(model, (x, y))
