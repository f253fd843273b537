import numpy as np
import pytest

from mmkeras.layers.modeling import LogMelSpectrogram
from mmkeras.testing import run_layer_test

KWARGS = {"sample_rate": 8000, "n_mels": 16, "frame_length": 200, "frame_step": 80}


def test_layer_harness():
    run_layer_test(
        LogMelSpectrogram,
        init_kwargs=KWARGS,
        input_shape=(2, 800),
        expected_output_shape=(2, 11, 16),
        expected_num_trainable_weights=0,
        run_training_check=False,
    )


def test_tone_peaks_in_the_band_of_its_frequency():
    import keras

    layer = LogMelSpectrogram(**KWARGS)
    t = np.arange(2000) / 8000.0
    low = np.sin(2 * np.pi * 300.0 * t).astype("float32")
    high = np.sin(2 * np.pi * 3000.0 * t).astype("float32")
    spec = keras.ops.convert_to_numpy(layer(np.stack([low, high])))
    low_band = spec[0].mean(axis=0).argmax()
    high_band = spec[1].mean(axis=0).argmax()
    assert low_band < 16 // 3
    assert high_band > 2 * 16 // 3


def test_each_example_is_independent_of_the_batch(rng):
    import keras

    layer = LogMelSpectrogram(**KWARGS)
    quiet = 0.01 * rng.normal(size=(1, 800)).astype("float32")
    loud = rng.normal(size=(1, 800)).astype("float32")
    alone = keras.ops.convert_to_numpy(layer(quiet))
    together = keras.ops.convert_to_numpy(layer(np.concatenate([quiet, loud])))
    np.testing.assert_allclose(together[:1], alone, atol=1e-4)


def test_silence_is_finite():
    import keras

    spec = keras.ops.convert_to_numpy(LogMelSpectrogram(**KWARGS)(np.zeros((1, 800), "float32")))
    assert np.isfinite(spec).all()


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_mels=0"):
        LogMelSpectrogram(sample_rate=8000, n_mels=0)
    with pytest.raises(ValueError, match="fft_length=64"):
        LogMelSpectrogram(sample_rate=8000, frame_length=200, fft_length=64)
    with pytest.raises(ValueError, match="max_freq=5000"):
        LogMelSpectrogram(sample_rate=8000, max_freq=5000)
