import math

import numpy as np
import pytest

from mmkeras.layers.speech import ConvFeatureEncoder
from mmkeras.testing import run_layer_test

LAYOUT = {"conv_dim": (4, 3), "conv_kernel": (10, 3), "conv_stride": (5, 2)}
_erf = np.vectorize(math.erf)


@pytest.mark.parametrize("norm, conv_bias, weights", [("group", False, 4), ("layer", True, 8)])
def test_layer_harness(norm, conv_bias, weights):
    # 100 samples: (100 - 10) // 5 + 1 = 19 frames, then (19 - 3) // 2 + 1 = 9.
    run_layer_test(
        ConvFeatureEncoder,
        init_kwargs={**LAYOUT, "norm": norm, "conv_bias": conv_bias},
        input_shape=(2, 100),
        expected_output_shape=(2, 9, 3),
        expected_num_trainable_weights=weights,
    )


def _conv(x, kernel, stride, bias=None):
    size = kernel.shape[0]
    steps = (x.shape[0] - size) // stride + 1
    out = np.stack(
        [np.einsum("kc,kcd->d", x[t * stride : t * stride + size], kernel) for t in range(steps)]
    )
    return out if bias is None else out + bias


def _gelu(x):
    return 0.5 * x * (1 + _erf(x / np.sqrt(2.0)))


def _randomized(layer, rng, shape):
    layer.build(shape)
    layer.set_weights([rng.normal(0.5, 0.5, size=w.shape).astype("float32") for w in layer.weights])
    return layer


def test_group_norm_layout_matches_numpy(rng):
    import keras

    layer = _randomized(ConvFeatureEncoder(**LAYOUT, norm="group"), rng, (1, 60))
    variables = (layer.conv_layers[0].kernel, layer.conv_layers[1].kernel,
                 layer.group_norm_gamma, layer.group_norm_beta)  # fmt: skip
    k0, k1, gamma, beta = (keras.ops.convert_to_numpy(v) for v in variables)
    x = rng.normal(size=60).astype("float32")
    h = _conv(x[:, None], k0, 5)
    h = (h - h.mean(0)) / np.sqrt(h.var(0) + 1e-5) * gamma + beta  # per channel, over time
    expected = _gelu(_conv(_gelu(h), k1, 2))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x[None]))[0], expected, atol=1e-4)


def test_layer_norm_layout_matches_numpy(rng):
    import keras

    layer = _randomized(ConvFeatureEncoder(**LAYOUT, norm="layer", conv_bias=True), rng, (1, 60))
    weights = {v.path.split("/", 1)[1]: keras.ops.convert_to_numpy(v) for v in layer.weights}
    waveform = rng.normal(size=(1, 60)).astype("float32")
    x = waveform[0][:, None]
    for index, stride in enumerate((5, 2)):
        x = _conv(x, weights[f"conv_{index}/kernel"], stride, weights[f"conv_{index}/bias"])
        x = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
        x = _gelu(x * weights[f"layer_norm_{index}/gamma"] + weights[f"layer_norm_{index}/beta"])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(waveform))[0], x, atol=1e-4)


@pytest.mark.parametrize("norm", ["group", "layer"])
def test_real_frames_do_not_depend_on_padding_when_lengths_are_given(norm, rng):
    import keras

    layer = _randomized(ConvFeatureEncoder(**LAYOUT, norm=norm), rng, (1, 100))
    clip = rng.normal(size=(1, 70)).astype("float32")
    padded = np.pad(clip, ((0, 0), (0, 30)))
    alone = keras.ops.convert_to_numpy(layer(clip))
    frames = alone.shape[1]
    with_lengths = keras.ops.convert_to_numpy(layer(padded, lengths=np.array([70])))
    np.testing.assert_allclose(with_lengths[:, :frames], alone, atol=1e-5)
    if norm == "group":  # without lengths the padding enters the group norm's statistics
        without = keras.ops.convert_to_numpy(layer(padded))
        assert np.abs(without[:, :frames] - alone).max() > 1e-3


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="norm"):
        ConvFeatureEncoder(**LAYOUT, norm="batch")
    with pytest.raises(ValueError, match="one entry per convolution"):
        ConvFeatureEncoder(conv_dim=(4,), conv_kernel=(10, 3), conv_stride=(5, 2))
    with pytest.raises(ValueError, match="activation"):
        ConvFeatureEncoder(**LAYOUT, activation="gelu_approx")
