import keras
import numpy as np
import pytest

from mmkeras.layers.modeling import WaveformPaddingMask
from mmkeras.testing import run_layer_test


def mask(wave, samples_per_step=320, num_steps=6):
    layer = WaveformPaddingMask(samples_per_step, num_steps=num_steps)
    return keras.ops.convert_to_numpy(layer(np.asarray(wave, "float32")))


def test_layer_harness():
    run_layer_test(
        WaveformPaddingMask,
        init_kwargs={"samples_per_step": 320, "num_steps": 6},
        input_shape=(2, 2000),
        expected_output_shape=(2, 6),
        expected_output_dtype="bool",
        run_training_check=False,
    )


def test_real_steps_end_at_the_last_non_zero_sample():
    wave = np.zeros((3, 2000), "float32")
    wave[0, :641] = 0.1  # step 2 is centred on sample 640, the last real one
    wave[1, :640] = 0.1
    wave[1, 100] = 0.0  # a zero inside the audio is not padding
    wave[2, 1999] = 0.1
    np.testing.assert_array_equal(
        mask(wave),
        [
            [True, True, True, False, False, False],
            [True, True, False, False, False, False],
            [True] * 6,
        ],
    )


def test_silence_is_real_everywhere():
    assert mask(np.zeros((1, 2000))).all()


def test_a_waveform_shorter_than_the_steps_masks_the_rest():
    wave = np.full((1, 500), 0.2, "float32")
    np.testing.assert_array_equal(mask(wave), [[True, True, False, False, False, False]])


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="samples_per_step=0"):
        WaveformPaddingMask(0, num_steps=3)
    with pytest.raises(ValueError, match=r"\(batch, samples\)"):
        WaveformPaddingMask(320, num_steps=3)(np.zeros((1, 2, 3), "float32"))
