import math

import numpy as np
import pytest

from mmkeras.layers.captioning import ContrastiveLogits
from mmkeras.testing import run_layer_test


def test_layer_harness_learnable():
    run_layer_test(
        ContrastiveLogits,
        init_kwargs={"temperature": "learnable"},
        input_shape=((3, 4), (5, 4)),
        expected_output_shape=(3, 5),
        expected_num_trainable_weights=1,
    )


def test_layer_harness_fixed():
    run_layer_test(
        ContrastiveLogits,
        init_kwargs={"temperature": 0.5},
        input_shape=((3, 4), (3, 4)),
        expected_output_shape=(3, 3),
        expected_num_trainable_weights=0,
    )


def test_logits_are_cosines_over_temperature(rng):
    import keras

    images = rng.normal(size=(3, 4)).astype("float32")
    texts = rng.normal(size=(2, 4)).astype("float32") * 10.0
    logits = keras.ops.convert_to_numpy(ContrastiveLogits(temperature=0.25)((images, texts)))
    unit_images = images / np.linalg.norm(images, axis=1, keepdims=True)
    unit_texts = texts / np.linalg.norm(texts, axis=1, keepdims=True)
    np.testing.assert_allclose(logits, unit_images @ unit_texts.T / 0.25, rtol=1e-5, atol=1e-5)


def test_learnable_scale_starts_at_initial_temperature_and_is_clipped(rng):
    import keras

    layer = ContrastiveLogits(initial_temperature=0.1, max_logit_scale=20.0)
    x = rng.normal(size=(2, 3)).astype("float32")
    layer((x, x))
    assert math.isclose(float(keras.ops.convert_to_numpy(layer.scale())), 10.0, rel_tol=1e-5)
    layer.logit_scale.assign(10.0)
    assert math.isclose(float(keras.ops.convert_to_numpy(layer.scale())), 20.0, rel_tol=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"temperature": 0.0}, "temperature=0.0"),
        ({"temperature": "fixed"}, "temperature='fixed'"),
        ({"initial_temperature": -1.0}, "initial_temperature=-1.0"),
        ({"max_logit_scale": 1.0}, "max_logit_scale=1.0"),
    ],
)
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ContrastiveLogits(**kwargs)


def test_rejects_embeddings_of_different_sizes():
    with pytest.raises(ValueError, match="one size"):
        ContrastiveLogits()((np.zeros((2, 3), "float32"), np.zeros((2, 4), "float32")))


def test_layer_harness_with_a_learnable_bias():
    run_layer_test(
        ContrastiveLogits,
        init_kwargs={"temperature": "learnable", "bias": "learnable", "initial_bias": -3.0},
        input_shape=((3, 4), (5, 4)),
        expected_output_shape=(3, 5),
        expected_num_trainable_weights=2,
    )


def test_bias_is_added_to_every_logit(rng):
    import keras

    images = rng.normal(size=(3, 4)).astype("float32")
    texts = rng.normal(size=(2, 4)).astype("float32")
    plain = ContrastiveLogits(temperature=0.5)
    biased = ContrastiveLogits(temperature=0.5, bias=-2.5)
    learnable = ContrastiveLogits(temperature=0.5, bias="learnable", initial_bias=-2.5)
    expected = keras.ops.convert_to_numpy(plain((images, texts))) - 2.5
    for layer in (biased, learnable):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(layer((images, texts))), expected, atol=1e-5
        )
    assert float(keras.ops.convert_to_numpy(learnable.shift())) == -2.5


def test_rejects_a_bad_bias():
    with pytest.raises(ValueError, match="bias"):
        ContrastiveLogits(bias="yes")
