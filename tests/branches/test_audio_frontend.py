"""The log-mel front end of `audio_cnn` and `audio_rnn`: normalisations and pre-emphasis."""

import keras
import numpy as np
import pytest

from mmkeras import branches

SMALL = {"sample_rate": 8000, "duration": 0.25, "n_mels": 16, "output_dim": 3}
BUILDERS = {
    "audio_cnn": lambda **kw: branches.audio_cnn(filters=(4,), **SMALL, **kw),
    "audio_rnn": lambda **kw: branches.audio_rnn(units=3, **SMALL, **kw),
}


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


def _stage(branch, layer_name, waves):
    return _numpy(keras.Model(branch.inputs, branch.get_layer(layer_name).output)(waves))


@pytest.fixture
def waves(rng):
    t = np.arange(2000) / 8000.0
    tone = np.sin(2 * np.pi * 440.0 * t) * np.linspace(0.0, 1.0, 2000)
    noise = 0.3 * rng.normal(size=(2, 2000))
    return (tone[None] + noise).astype("float32")


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_band_normalisation_matches_numpy(name, waves):
    branch = BUILDERS[name](normalization="band")
    log_mel = _stage(branch, "log_mel", waves)
    epsilon = branch.get_layer("band_norm").epsilon
    # numpy reference: each mel band of each clip standardised over the frames.
    expected = (log_mel - log_mel.mean(axis=1, keepdims=True)) / np.sqrt(
        log_mel.var(axis=1, keepdims=True) + epsilon
    )
    got = _stage(branch, "band_norm", waves)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got.mean(axis=1), 0.0, atol=1e-4)


def test_band_normalisation_removes_a_fixed_gain_per_band(waves):
    # A fixed gain per band (a microphone's or channel's colour) adds a constant per band in
    # log space; per-band normalisation takes it out, per-clip normalisation does not.
    branch = BUILDERS["audio_rnn"](normalization="band")
    log_mel = _stage(branch, "log_mel", waves)
    tilted = log_mel + np.linspace(-3.0, 3.0, 16, dtype="float32")
    band_norm = branch.get_layer("band_norm")
    np.testing.assert_allclose(
        _numpy(band_norm(tilted)), _numpy(band_norm(log_mel)), rtol=1e-4, atol=1e-4
    )
    utterance_norm = BUILDERS["audio_rnn"](normalization="utterance").get_layer("utterance_norm")
    assert not np.allclose(_numpy(utterance_norm(tilted)), _numpy(utterance_norm(log_mel)))


def test_band_normalisation_is_per_clip(waves):
    branch = BUILDERS["audio_cnn"](normalization="band")
    alone = _stage(branch, "band_norm", waves[:1])
    together = _stage(branch, "band_norm", np.concatenate([waves[:1], 10 * waves[1:]]))
    np.testing.assert_allclose(together[:1], alone, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_pre_emphasis_filters_the_waveform_before_the_spectrogram(name, waves):
    branch = BUILDERS[name](pre_emphasis=0.97, normalization="band")
    assert branch.get_layer("log_mel").pre_emphasis == 0.97
    plain = BUILDERS[name](pre_emphasis=None, normalization="band")
    # numpy reference: y[0] = x[0], y[t] = x[t] - 0.97 x[t - 1]
    emphasised = np.concatenate([waves[:, :1], waves[:, 1:] - 0.97 * waves[:, :-1]], axis=1)
    np.testing.assert_allclose(
        _stage(branch, "log_mel", waves), _stage(plain, "log_mel", emphasised), atol=1e-4
    )


@pytest.mark.parametrize("name", sorted(BUILDERS))
@pytest.mark.parametrize(
    "normalization, layer", [("band", "band_norm"), ("utterance", "utterance_norm")]
)
def test_keras_file_round_trip_in_safe_mode(name, normalization, layer, waves, tmp_path):
    branch = BUILDERS[name](normalization=normalization, pre_emphasis=0.97)
    branch.get_layer(layer)  # the option builds the layer it names
    path = tmp_path / f"{name}.keras"
    branch.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert loaded.get_layer("log_mel").pre_emphasis == 0.97
    np.testing.assert_array_equal(_numpy(loaded(waves)), _numpy(branch(waves)))


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_default_front_end_is_utterance_normalisation_without_pre_emphasis(name):
    # Measured on AV-Digits (docs/demo.md, "Branch defaults, measured"): per-band
    # normalisation and pre-emphasis lowered audio-only accuracy there.
    branch = BUILDERS[name]()
    branch.get_layer("utterance_norm")
    assert branch.get_layer("log_mel").pre_emphasis is None


@pytest.mark.parametrize("name", sorted(BUILDERS))
@pytest.mark.parametrize("bad", [1.0, -0.5, True, "0.97"])
def test_bad_pre_emphasis_is_a_clear_error(name, bad):
    with pytest.raises(ValueError, match=f"{name}: `pre_emphasis` must be None or a float"):
        BUILDERS[name](pre_emphasis=bad)
