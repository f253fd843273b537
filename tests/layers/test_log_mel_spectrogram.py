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


def test_layer_harness_with_pre_emphasis():
    run_layer_test(
        LogMelSpectrogram,
        init_kwargs={**KWARGS, "pre_emphasis": 0.97},
        input_shape=(2, 800),
        expected_output_shape=(2, 11, 16),
        expected_num_trainable_weights=0,
        run_training_check=False,
    )


def test_pre_emphasis_filters_the_waveform_first(rng):
    import keras

    wave = rng.normal(size=(2, 800)).astype("float32")
    # numpy reference: y[0] = x[0], y[t] = x[t] - 0.97 x[t - 1]
    emphasised = np.concatenate([wave[:, :1], wave[:, 1:] - 0.97 * wave[:, :-1]], axis=1)
    got = keras.ops.convert_to_numpy(LogMelSpectrogram(**KWARGS, pre_emphasis=0.97)(wave))
    expected = keras.ops.convert_to_numpy(LogMelSpectrogram(**KWARGS)(emphasised))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_pre_emphasis_lifts_high_bands_against_low_ones():
    import keras

    t = np.arange(2000) / 8000.0
    wave = (np.sin(2 * np.pi * 200.0 * t) + np.sin(2 * np.pi * 3000.0 * t)).astype("float32")
    plain = keras.ops.convert_to_numpy(LogMelSpectrogram(**KWARGS)(wave[None]))[0].mean(0)
    emphasised = keras.ops.convert_to_numpy(
        LogMelSpectrogram(**KWARGS, pre_emphasis=0.97)(wave[None])
    )[0].mean(0)
    # |1 - 0.97 e^{-iw}| is about 0.07 at 200 Hz and about 1.9 at 3000 Hz (8 kHz sampling).
    assert emphasised[-3:].max() > plain[-3:].max() + 1.0
    assert emphasised[:3].max() < plain[:3].max() - 3.0


def test_config_without_pre_emphasis_still_loads():
    # Layers saved before `pre_emphasis` existed have no such key: they load without it.
    config = LogMelSpectrogram(**KWARGS).get_config()
    assert config["pre_emphasis"] is None
    del config["pre_emphasis"]
    assert LogMelSpectrogram.from_config(config).pre_emphasis is None
    assert LogMelSpectrogram(**KWARGS, pre_emphasis=0.9).get_config()["pre_emphasis"] == 0.9


def test_rejects_bad_pre_emphasis():
    for bad in (1.0, -0.1, True, "0.97"):
        with pytest.raises(ValueError, match="pre_emphasis"):
            LogMelSpectrogram(sample_rate=8000, pre_emphasis=bad)
