import numpy as np
import pytest

from mmkeras.branches.text_bert_branch import text_bert
from mmkeras.train.finetune import DiscriminativeAdamW, bert_lr_multipliers, unfreeze_top_layers


def _two_layer_model(keras):
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(3, name="bert_like")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, name="head")(hidden))


def _step_sizes(model, optimizer, x, y):
    import keras

    before = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
    model.compile(optimizer=optimizer, loss="mse")
    model.train_on_batch(x, y)
    after = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
    return {
        v.path: np.abs(a - b)
        for v, a, b in zip(model.trainable_variables, after, before, strict=False)
    }


def test_multiplier_scales_the_adam_step(rng):
    import keras

    x, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 1))
    model = _two_layer_model(keras)
    steps = _step_sizes(model, DiscriminativeAdamW(0.1, lr_multipliers={"^bert_": 0.1}), x, y)
    # Adam's first step has size learning_rate for every nonzero gradient.
    np.testing.assert_allclose(steps["head/kernel"], 0.1, rtol=1e-3)
    np.testing.assert_allclose(steps["bert_like/kernel"], 0.01, rtol=1e-3)


def test_zero_multiplier_keeps_variables_and_first_match_wins(rng):
    import keras

    x, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 1))
    model = _two_layer_model(keras)
    opt = DiscriminativeAdamW(0.1, lr_multipliers={"bert_like/bias": 1.0, "^bert_": 0.0})
    steps = _step_sizes(model, opt, x, y)
    assert steps["bert_like/kernel"].max() == 0.0
    np.testing.assert_allclose(steps["bert_like/bias"], 0.1, rtol=1e-3)


def test_weight_decay_uses_the_scaled_learning_rate():
    import keras

    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1, name="bert_d", use_bias=False)(inputs))
    model.layers[-1].set_weights([np.ones((2, 1), "float32")])
    opt = DiscriminativeAdamW(0.5, lr_multipliers={"bert_": 0.2}, weight_decay=0.1)
    model.compile(optimizer=opt, loss="mse")
    # Zero inputs give zero gradients: only the decoupled decay moves the kernel.
    model.train_on_batch(np.zeros((4, 2)), np.zeros((4, 1)))
    np.testing.assert_allclose(model.layers[-1].get_weights()[0], 1 - 0.1 * 0.5 * 0.2, rtol=1e-6)


@pytest.mark.parametrize(
    "multipliers, message",
    [([0.1], "dict"), ({"(": 0.1}, "regular expression"), ({"a": -1.0}, "float >= 0")],
)
def test_bad_multipliers_are_explained(multipliers, message):
    with pytest.raises(ValueError, match=message):
        DiscriminativeAdamW(1e-3, lr_multipliers=multipliers)


def test_layerwise_decay_and_unfreezing(tiny_bert):
    branch = text_bert(tiny_bert, pooling="pooler", max_length=6)
    multipliers = bert_lr_multipliers(branch, multiplier=0.1, layer_decay=0.5)
    assert multipliers == {
        "^bert_pooler_pooling/": 0.1,
        "^bert_layer_0/": 0.05,
        "^bert_layer_1/": 0.1,
        "^bert_embeddings/": 0.025,
    }
    assert not branch.trainable_variables
    unfreeze_top_layers(branch, 1)
    assert {v.path.split("/")[0] for v in branch.trainable_variables} == {
        "bert_layer_1",
        "bert_pooler_pooling",
    }
    with pytest.raises(ValueError, match="text_bert"):
        bert_lr_multipliers(branch.get_layer("bert_layer_0"))


@pytest.mark.slow
def test_partially_trainable_branch_fits_and_optimizer_survives_save(tiny_bert, tmp_path, rng):
    import keras

    branch = text_bert(tiny_bert, trainable=1, max_length=6)
    ids = keras.Input((6,), dtype="int32", name="text")
    outputs = keras.layers.Dense(2, activation="softmax", name="head")(branch(ids))
    model = keras.Model(ids, outputs)
    opt = DiscriminativeAdamW(1e-2, lr_multipliers=bert_lr_multipliers(branch, 0.1))
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    x = rng.integers(4, 26, size=(16, 6)).astype("int32")
    x[:, 0], x[:, -1] = 2, 3
    y = rng.integers(0, 2, size=(16,))
    frozen = branch.get_layer("bert_layer_0").get_weights()
    top = branch.get_layer("bert_layer_1").get_weights()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(frozen, branch.get_layer("bert_layer_0").get_weights(), strict=False):
        np.testing.assert_array_equal(a, b)
    assert any(
        np.abs(a - b).max() > 0
        for a, b in zip(top, branch.get_layer("bert_layer_1").get_weights(), strict=False)
    )

    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.optimizer, DiscriminativeAdamW)
    assert loaded.optimizer.lr_multipliers == opt.lr_multipliers
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    loaded.fit(x, y, epochs=1, batch_size=8, verbose=0)


def test_bert_blocks_are_its_encoder_layers(tiny_bert):
    from mmkeras.branches import set_trainable, trainable_blocks

    branch = text_bert(tiny_bert, pooling="pooler", max_length=6)
    blocks = [[layer.name for layer in block] for block in trainable_blocks(branch)]
    assert blocks == [["bert_embeddings", "bert_layer_0"], ["bert_layer_1", "bert_pooler_pooling"]]
    set_trainable(branch, 1)
    assert {v.path.split("/")[0] for v in branch.trainable_variables} == {
        "bert_layer_1",
        "bert_pooler_pooling",
    }
    set_trainable(branch, 2)
    assert {v.path.split("/")[0] for v in branch.trainable_variables} == {
        "bert_embeddings",
        "bert_layer_0",
        "bert_layer_1",
        "bert_pooler_pooling",
    }
    set_trainable(branch, False)
    assert not branch.trainable_variables
