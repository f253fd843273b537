import keras
import numpy as np
import pytest

from mmkeras.layers.fusion import AttentionFusion, ModalityDropout
from mmkeras.testing import check_presence_mask_contract, run_layer_test

SHAPES = ((2, 4), (2, 6), (2, 5))


def _features(rng, batch=4):
    return [rng.normal(size=(batch, size[1])).astype("float32") for size in SHAPES]


def test_layer_harness():
    run_layer_test(
        AttentionFusion,
        {"units": 3, "attention_units": 5, "dropout": 0.1},
        input_shape=SHAPES,
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=9,
    )


def test_layer_harness_with_attention_scores():
    # The harness's training step drops call arguments, so it cannot train on a tuple output;
    # training is covered by the case above.
    run_layer_test(
        AttentionFusion,
        {"units": 3},
        input_shape=SHAPES,
        call_kwargs={"return_attention_scores": True},
        expected_output_shape=((2, 3), (2, 3)),
        run_training_check=False,
    )


def test_presence_mask_contract(rng):
    check_presence_mask_contract(AttentionFusion(units=3), _features(rng))


def test_weights_are_a_softmax_over_present_modalities(rng):
    features = _features(rng)
    mask = np.array([[1, 1, 1], [1, 0, 1], [0, 1, 0], [0, 0, 0]], dtype="float32")
    layer = AttentionFusion(units=3)
    fused, weights = layer(features, mask=mask, return_attention_scores=True)
    fused, weights = np.asarray(fused), np.asarray(weights)
    assert weights.shape == (4, 3)
    np.testing.assert_allclose(weights * (1 - mask), 0.0)
    np.testing.assert_allclose(weights.sum(axis=1), [1, 1, 1, 0], rtol=1e-6)
    np.testing.assert_allclose(weights[2], [0, 1, 0], rtol=1e-6)
    np.testing.assert_allclose(fused[3], 0.0)
    projected = np.stack(
        [np.asarray(p(f)) for p, f in zip(layer.projections, features, strict=True)], axis=1
    )
    np.testing.assert_allclose(
        fused[1], (weights[1, :, None] * projected[1]).sum(axis=0), rtol=1e-5
    )
    # With modalities 0 and 2 only, the weights renormalise over those two.
    full_scores = np.asarray(layer.score_output(layer.score_hidden(projected)))[..., 0]
    expected = np.exp(full_scores[1, [0, 2]]) / np.exp(full_scores[1, [0, 2]]).sum()
    np.testing.assert_allclose(weights[1, [0, 2]], expected, rtol=1e-5)


def _functional_model(with_mask):
    inputs = [keras.Input((size[1],), name=f"m{i}") for i, size in enumerate(SHAPES)]
    present = keras.Input((3,), name="present") if with_mask else None
    kept = ModalityDropout(rate=0.5, seed=3)(inputs, mask=present)
    fused = AttentionFusion(units=4)(inputs, mask=kept)
    outputs = keras.layers.Dense(2)(fused)
    model_inputs = inputs + ([present] if with_mask else [])
    return keras.Model(model_inputs, outputs)


@pytest.mark.parametrize("with_mask", [False, True])
def test_functional_model_saves_and_loads_in_safe_mode(tmp_path, rng, with_mask):
    model = _functional_model(with_mask)
    features = _features(rng)
    inputs = features + ([np.array([[1, 0, 1]] * 4, dtype="float32")] if with_mask else [])
    expected = model.predict(inputs, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(inputs, verbose=0), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_fused_model_trains_where_only_the_combination_is_informative(rng):
    # Label = sign(a) xor sign(b): neither feature alone says anything about it.
    a = rng.normal(size=(256, 1)).astype("float32")
    b = rng.normal(size=(256, 1)).astype("float32")
    labels = ((a[:, 0] > 0) ^ (b[:, 0] > 0)).astype("float32")
    inputs = [keras.Input((1,)), keras.Input((1,))]
    fused = AttentionFusion(units=16, activation="relu")(inputs)
    hidden = keras.layers.Dense(16, activation="relu")(fused)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
    model.compile(
        optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy", metrics=["accuracy"]
    )
    history = model.fit([a, b], labels, epochs=40, batch_size=64, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.85


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"units": 0}, "units.*Received: units=0"),
        ({"units": 3, "attention_units": 0}, "attention_units.*Received: attention_units=0"),
        ({"units": 3, "dropout": 2}, "dropout.*Received: dropout=2"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AttentionFusion(**kwargs)
