import keras
import numpy as np
import pytest

from mmkeras import branches


def test_image_cnn_rescales_pixels_inside():
    branch = branches.image_cnn(input_shape=(16, 16, 3), filters=(4,), output_dim=3)
    images = np.random.default_rng(0).uniform(0, 255, (1, 16, 16, 3)).astype("float32")
    rescaled = branch.get_layer("rescale")(images)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(rescaled), images / 255.0, rtol=1e-6)


def test_tabular_mlp_normalises_with_given_statistics():
    mean, variance = [1.0, -2.0, 0.0], [4.0, 1.0, 9.0]
    branch = branches.tabular_mlp(num_features=3, output_dim=2, mean=mean, variance=variance)
    rows = np.array([[3.0, -2.0, 3.0]], "float32")
    normalized = keras.ops.convert_to_numpy(branch.get_layer("normalization")(rows))
    np.testing.assert_allclose(normalized, [[1.0, 0.0, 1.0]], atol=1e-5)


def test_tabular_mlp_adapts_statistics_from_data(rng):
    data = rng.normal(5.0, 3.0, size=(200, 2)).astype("float32")
    branch = branches.tabular_mlp(num_features=2, output_dim=2, adapt_data=data)
    normalized = keras.ops.convert_to_numpy(branch.get_layer("normalization")(data))
    np.testing.assert_allclose(normalized.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(normalized.std(axis=0), 1.0, atol=1e-3)


def test_audio_branches_take_raw_waveforms_of_duration_times_rate():
    cnn = branches.audio_cnn(sample_rate=8000, duration=0.25, n_mels=16, filters=(4,), output_dim=3)
    rnn = branches.audio_rnn(sample_rate=8000, duration=0.25, n_mels=16, units=3, output_dim=3)
    for branch in (cnn, rnn):
        assert tuple(branch.inputs[0].shape) == (None, 2000)
        assert branch.inputs[0].dtype == "float32"


def test_audio_utterance_normalisation_ignores_loudness(rng):
    branch = branches.audio_cnn(
        sample_rate=8000, duration=0.25, n_mels=16, filters=(4,), output_dim=3
    )
    wave = rng.normal(size=(1, 2000)).astype("float32") * 0.5
    loud, quiet = branch(wave), branch(wave * 0.25)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(quiet), keras.ops.convert_to_numpy(loud), atol=1e-3
    )


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: branches.image_cnn(filters=()), "filters=()"),
        (lambda: branches.image_cnn(input_shape=(32, 32)), "input_shape=(32, 32)"),
        (lambda: branches.image_cnn(output_dim=0), "output_dim=0"),
        (lambda: branches.audio_cnn(duration=0), "duration=0"),
        (lambda: branches.audio_cnn(sample_rate=8000, duration=0.001), "too short"),
        (lambda: branches.audio_cnn(normalization="global"), "normalization='global'"),
        (lambda: branches.audio_rnn(cell="transformer"), "cell='transformer'"),
        (lambda: branches.tabular_mlp(num_features=0), "num_features=0"),
        (lambda: branches.tabular_mlp(num_features=2, mean=[0, 0]), "both `mean` and `variance`"),
        (lambda: branches.tabular_mlp(num_features=2, mean=[0, 0, 0], variance=1), "shape"),
    ],
)
def test_clear_errors(build, match):
    with pytest.raises(ValueError, match=match.replace("(", r"\(").replace(")", r"\)")):
        build()
