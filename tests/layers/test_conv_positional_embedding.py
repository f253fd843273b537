import math

import numpy as np
import pytest

from mmkeras.layers.speech import ConvPositionalEmbedding
from mmkeras.testing import run_layer_test

_erf = np.vectorize(math.erf)


@pytest.mark.parametrize("batch_norm, trainable, non_trainable", [(False, 2, 0), (True, 4, 2)])
def test_layer_harness(batch_norm, trainable, non_trainable):
    run_layer_test(
        ConvPositionalEmbedding,
        init_kwargs={"kernel_size": 4, "groups": 2, "batch_norm": batch_norm},
        input_shape=(2, 7, 6),
        expected_output_shape=(2, 7, 6),
        expected_num_trainable_weights=trainable,
        expected_num_non_trainable_weights=non_trainable,
    )


def _reference(x, kernel, bias, kernel_size, groups):
    """x + gelu(grouped conv(x)) with kernel_size // 2 zeros each side, the last step dropped
    for an even kernel; kernel `(taps, in / groups, out)`."""
    steps, hidden = x.shape
    per_group = hidden // groups
    pad = kernel_size // 2
    padded = np.pad(x, ((pad, pad), (0, 0)))
    out = np.zeros((steps + 2 * pad - kernel_size + 1, hidden))
    for t in range(out.shape[0]):
        window = padded[t : t + kernel_size]
        for g in range(groups):
            channels = slice(g * per_group, (g + 1) * per_group)
            out[t, channels] = np.einsum("kc,kcd->d", window[:, channels], kernel[:, :, channels])
    out = (out + bias)[:steps]
    return x + 0.5 * out * (1 + _erf(out / np.sqrt(2.0)))


@pytest.mark.parametrize("kernel_size", [4, 5])
def test_matches_a_numpy_grouped_convolution(kernel_size, rng):
    import keras

    layer = ConvPositionalEmbedding(kernel_size=kernel_size, groups=3)
    x = rng.normal(size=(1, 9, 6)).astype("float32")
    layer.build(x.shape)
    kernel = rng.normal(size=(kernel_size, 2, 6)).astype("float32")
    bias = rng.normal(size=6).astype("float32")
    layer.set_weights([kernel, bias])
    expected = _reference(x[0], kernel, bias, kernel_size, 3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x))[0], expected, atol=1e-5)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_real_frames_do_not_depend_on_what_follows_them(batch_norm, rng):
    import keras

    layer = ConvPositionalEmbedding(kernel_size=4, groups=2, batch_norm=batch_norm)
    clip = rng.normal(size=(1, 5, 6)).astype("float32")
    padded = np.concatenate([clip, rng.normal(size=(1, 3, 6)).astype("float32")], axis=1)
    layer.build(padded.shape)
    layer.set_weights(
        [rng.uniform(0.2, 1.0, size=w.shape).astype("float32") for w in layer.weights]
    )
    mask = np.array([[True] * 5 + [False] * 3])
    alone = keras.ops.convert_to_numpy(layer(clip))
    masked = keras.ops.convert_to_numpy(layer(padded, mask=mask))
    np.testing.assert_allclose(masked[:, :5], alone, atol=1e-5)


def test_width_not_divisible_by_groups_is_rejected():
    with pytest.raises(ValueError, match="groups=4"):
        ConvPositionalEmbedding(kernel_size=4, groups=4).build((None, 5, 6))
