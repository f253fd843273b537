"""`audio_cnn(pooling=...)`: pooling over the whole map or over time only."""

import keras
import numpy as np
import pytest

from mmkeras import branches

WAVES = (0.1 * np.random.default_rng(0).normal(size=(2, 2000))).astype("float32")


def _build(pooling, **kwargs):
    return branches.audio_cnn(
        sample_rate=8000,
        duration=0.25,
        n_mels=16,
        filters=(4, 8),
        output_dim=6,
        pooling=pooling,
        **kwargs,
    )


def _stage(branch, layer_name):
    return keras.ops.convert_to_numpy(
        keras.Model(branch.inputs, branch.get_layer(layer_name).output)(WAVES)
    )


@pytest.mark.parametrize(
    "pooling, reduce, axes",
    [
        ("avg", np.mean, (1, 2)),
        ("max", np.max, (1, 2)),
        ("time_avg", np.mean, 1),
        ("time_max", np.max, 1),
    ],
)
def test_pooling_matches_numpy(pooling, reduce, axes):
    branch = _build(pooling)
    last_map = _stage(branch, "block1_dropout")  # (2, 7, 4, 8): frames, bands, filters
    expected = reduce(last_map, axis=axes).reshape(2, -1)  # time pooling keeps band by band
    np.testing.assert_allclose(_stage(branch, "pool"), expected, rtol=1e-5, atol=1e-6)
    assert keras.ops.convert_to_numpy(branch(WAVES)).shape == (2, 6)


def test_time_pooling_keeps_the_bands():
    assert _stage(_build("time_max"), "pool").shape == (2, 4 * 8)
    assert _stage(_build("avg"), "pool").shape == (2, 8)


def test_default_pools_over_time_with_max():
    branch = branches.audio_cnn(sample_rate=8000, duration=0.25, n_mels=16, filters=(4,))
    assert isinstance(branch.get_layer("time_pool"), keras.layers.MaxPooling2D)


@pytest.mark.parametrize("pooling", ["avg", "time_max", "time_avg"])
def test_keras_file_round_trip_in_safe_mode(pooling, tmp_path):
    branch = _build(pooling, return_sequence=True)
    path = tmp_path / f"{pooling}.keras"
    branch.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    expected, got = branch(WAVES), loaded(WAVES)
    for key in expected:
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(got[key]), keras.ops.convert_to_numpy(expected[key])
        )


def test_unknown_pooling_is_a_clear_error():
    with pytest.raises(ValueError, match="audio_cnn: unknown pooling='flatten'"):
        _build("flatten")
