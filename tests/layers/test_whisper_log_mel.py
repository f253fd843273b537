import keras
import numpy as np
import pytest

from mmkeras.layers.modeling import WhisperLogMel
from mmkeras.layers.modeling.whisper_log_mel import (
    _hz_to_slaney_mel,
    _slaney_mel_to_hz,
    slaney_mel_filterbank,
)
from mmkeras.testing import run_layer_test

KWARGS = {"sample_rate": 8000, "num_mel_bins": 8, "n_fft": 64, "hop_length": 32, "num_samples": 640}


def features(layer, wave):
    return keras.ops.convert_to_numpy(layer(np.asarray(wave, "float32")))


def test_layer_harness():
    run_layer_test(
        WhisperLogMel,
        init_kwargs=KWARGS,
        input_shape=(2, 500),
        expected_output_shape=(2, 20, 8),
        expected_num_trainable_weights=0,
        run_training_check=False,
    )


def test_layer_harness_without_padding():
    run_layer_test(
        WhisperLogMel,
        init_kwargs={**KWARGS, "num_samples": None},
        input_shape=(2, 320),
        expected_output_shape=(2, 10, 8),
        expected_num_trainable_weights=0,
        run_training_check=False,
    )


def test_short_waveforms_are_zero_padded_and_long_ones_cut(rng):
    layer = WhisperLogMel(**KWARGS)
    wave = rng.normal(size=(2, 900)).astype("float32")
    short = wave[:, :300]
    padded = np.pad(short, [(0, 0), (0, 340)])
    np.testing.assert_array_equal(features(layer, short), features(layer, padded))
    np.testing.assert_array_equal(features(layer, wave), features(layer, wave[:, :640]))


def test_a_waveform_of_unknown_length_gives_the_same_features(rng):
    wave = rng.normal(size=(2, 300)).astype("float32")
    inputs = keras.Input((None,))
    model = keras.Model(inputs, WhisperLogMel(**KWARGS)(inputs))
    assert model.output_shape == (None, 20, 8)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(wave)), features(WhisperLogMel(**KWARGS), wave), atol=1e-6
    )


def test_dynamic_range_is_eight_decades_per_example(rng):
    layer = WhisperLogMel(**KWARGS)
    quiet = 1e-3 * rng.normal(size=(1, 640)).astype("float32")
    loud = rng.normal(size=(1, 640)).astype("float32")
    alone = features(layer, quiet)
    together = features(layer, np.concatenate([quiet, loud]))
    np.testing.assert_allclose(together[:1], alone, atol=1e-6)
    for example in together:
        # (log10 + 4) / 4: eight decades below the maximum is 2 below it.
        assert example.min() >= example.max() - 2.0 - 1e-6


def test_silence_gives_the_floor():
    out = features(WhisperLogMel(**KWARGS), np.zeros((1, 640)))
    np.testing.assert_allclose(out, (-10.0 + 4.0) / 4.0, atol=1e-6)


def test_a_tone_lights_the_band_of_its_frequency():
    t = np.arange(640) / 8000.0
    low = np.sin(2 * np.pi * 250.0 * t)
    high = np.sin(2 * np.pi * 3000.0 * t)
    spec = features(WhisperLogMel(**KWARGS), np.stack([low, high])).mean(axis=1)
    assert spec[0].argmax() < 3 < spec[1].argmax()


def test_slaney_mel_scale():
    # Linear below 1 kHz (15 mels at 1 kHz), then 27 mels per factor 6.4.
    np.testing.assert_allclose(_hz_to_slaney_mel([0.0, 500.0, 1000.0, 6400.0]), [0, 7.5, 15, 42])
    np.testing.assert_allclose(_hz_to_slaney_mel(8000.0), 45.245640471924965)
    hz = np.array([0.0, 250.0, 999.0, 1000.0, 3000.0, 8000.0])
    np.testing.assert_allclose(_slaney_mel_to_hz(_hz_to_slaney_mel(hz)), hz)


def test_slaney_filters_are_area_normalised_triangles():
    filters = slaney_mel_filterbank(201, 80, 16000)
    assert filters.shape == (201, 80)
    assert (filters >= 0).all()
    # Each triangle is scaled by 2 / its width in Hz: an area of one. The sampled area is
    # within 10% of it (FFT bins are 40 Hz apart).
    areas = filters.sum(axis=0) * 40.0
    np.testing.assert_allclose(areas, 1.0, rtol=0.1)
    # Adjacent filters overlap: every bin from 40 Hz to 8 kHz reaches some filter.
    assert (filters[1:200].sum(axis=1) > 0).all()


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="num_mel_bins=0"):
        WhisperLogMel(num_mel_bins=0)
    with pytest.raises(ValueError, match="num_samples=100"):
        WhisperLogMel(n_fft=400, num_samples=100)
    with pytest.raises(ValueError, match=r"\(batch, samples\)"):
        WhisperLogMel(**KWARGS)(np.zeros((1, 2, 640), "float32"))
