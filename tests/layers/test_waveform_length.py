import numpy as np
import pytest

from mmkeras.layers.speech import WaveformLength
from mmkeras.testing import run_layer_test


def test_layer_harness():
    run_layer_test(
        WaveformLength,
        init_kwargs={},
        input_shape=(2, 50),
        expected_output_shape=(2,),
        expected_output_dtype="int32",
        expected_num_trainable_weights=0,
        run_training_check=False,
    )


def test_length_ends_at_the_last_nonzero_sample():
    import keras

    waveform = np.array(
        [[0.5, 0.0, -0.25, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0, 5.0]],
        "float32",
    )
    lengths = keras.ops.convert_to_numpy(WaveformLength()(waveform))
    # A zero inside a clip is not its end; silence is real throughout.
    np.testing.assert_array_equal(lengths, [3, 5, 5])


def test_rejects_a_waveform_with_channels():
    with pytest.raises(ValueError, match=r"\(batch, samples\)"):
        WaveformLength()(np.zeros((2, 10, 1), "float32"))
