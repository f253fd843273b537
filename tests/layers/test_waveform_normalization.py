import numpy as np
import pytest

from mmkeras.layers.speech import WaveformNormalization
from mmkeras.testing import run_layer_test


def test_layer_harness():
    run_layer_test(
        WaveformNormalization,
        init_kwargs={"epsilon": 1e-7},
        input_shape=(2, 30),
        expected_output_shape=(2, 30),
        expected_num_trainable_weights=0,
    )


def _normalized(clip):
    return (clip - clip.mean()) / np.sqrt(clip.var() + 1e-7)


def test_each_clip_is_normalized_over_its_own_samples_and_padding_stays_zero(rng):
    import keras

    short = rng.normal(0.3, 0.2, size=7).astype("float32")
    full = rng.normal(-0.1, 0.5, size=12).astype("float32")
    batch = np.stack([np.pad(short, (0, 5)), full])
    out = keras.ops.convert_to_numpy(WaveformNormalization()(batch))
    np.testing.assert_allclose(out[0, :7], _normalized(short), atol=1e-5)
    np.testing.assert_array_equal(out[0, 7:], 0.0)
    np.testing.assert_allclose(out[1], _normalized(full), atol=1e-5)


def test_given_lengths_override_the_trailing_zeros(rng):
    import keras

    clip = np.concatenate([rng.normal(size=6), np.zeros(2)]).astype("float32")  # ends in silence
    out = WaveformNormalization()(clip[None], lengths=np.array([8], "int32"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out)[0], _normalized(clip), atol=1e-5)


def test_a_silent_clip_gives_zeros():
    import keras

    out = keras.ops.convert_to_numpy(WaveformNormalization()(np.zeros((1, 9), "float32")))
    np.testing.assert_array_equal(out, 0.0)


def test_rejects_a_bad_epsilon():
    with pytest.raises(ValueError, match="epsilon"):
        WaveformNormalization(epsilon=0)
