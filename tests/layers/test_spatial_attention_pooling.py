import keras
import numpy as np
import pytest

from mmkeras.layers.modeling import SpatialAttentionPooling
from mmkeras.testing import run_layer_test


@pytest.mark.parametrize("positional", [True, False])
def test_layer_harness(positional):
    run_layer_test(
        SpatialAttentionPooling,
        init_kwargs={"num_heads": 2, "positional": positional},
        input_shape=(2, 3, 4, 5),
        expected_output_shape=(2, 10),
        expected_num_trainable_weights=3 if positional else 1,
    )


def _reference(maps, kernel, position_scores=None, position_embedding=None):
    """numpy: per head, softmax over positions of (features @ kernel + position score), then
    the weighted sum of (features + position embedding)."""
    batch, height, width, channels = maps.shape
    positions = maps.reshape(batch, height * width, channels)
    scores = positions @ kernel + (0.0 if position_scores is None else position_scores)
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    values = positions + (0.0 if position_embedding is None else position_embedding)
    pooled = np.einsum("bph,bpc->bhc", weights, values)
    return pooled.reshape(batch, -1)


def test_matches_a_numpy_reference(rng):
    maps = rng.normal(size=(2, 3, 4, 5)).astype("float32")
    layer = SpatialAttentionPooling(num_heads=3)
    layer.build(maps.shape)
    kernel = rng.normal(size=(5, 3)).astype("float32")
    position_scores = rng.normal(size=(12, 3)).astype("float32")
    position_embedding = rng.normal(size=(12, 5)).astype("float32")
    layer.set_weights([kernel, position_scores, position_embedding])
    got = keras.ops.convert_to_numpy(layer(maps))
    expected = _reference(maps, kernel, position_scores, position_embedding)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_content_only_matches_a_numpy_reference(rng):
    maps = rng.normal(size=(2, 3, 4, 5)).astype("float32")
    layer = SpatialAttentionPooling(num_heads=2, positional=False)
    layer.build(maps.shape)
    kernel = rng.normal(size=(5, 2)).astype("float32")
    layer.set_weights([kernel])
    got = keras.ops.convert_to_numpy(layer(maps))
    np.testing.assert_allclose(got, _reference(maps, kernel), rtol=1e-5, atol=1e-5)


def test_position_scores_pick_a_region(rng):
    # With no content score and a large score at one position, the head returns that position.
    maps = rng.normal(size=(2, 3, 3, 4)).astype("float32")
    layer = SpatialAttentionPooling(num_heads=1)
    layer.build(maps.shape)
    position_scores = np.zeros((9, 1), "float32")
    position_scores[5] = 50.0  # row 1, column 2
    embedding = np.zeros((9, 4), "float32")
    layer.set_weights([np.zeros((4, 1), "float32"), position_scores, embedding])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(maps)), maps[:, 1, 2], atol=1e-5)


def test_position_embedding_tells_where_the_same_content_was(rng):
    # The same vector at two different places pools differently once positions are embedded.
    first, second = np.zeros((2, 1, 3, 3, 4), "float32")
    first[0, 0, 0], second[0, 2, 2] = 1.0, 1.0
    layer = SpatialAttentionPooling(num_heads=1)
    layer.build((None, 3, 3, 4))
    kernel, scores, _ = layer.get_weights()
    layer.set_weights([kernel, np.zeros_like(scores), rng.normal(size=(9, 4)).astype("float32")])
    assert not np.allclose(
        keras.ops.convert_to_numpy(layer(first)), keras.ops.convert_to_numpy(layer(second))
    )
    plain = SpatialAttentionPooling(num_heads=1, positional=False)
    plain.build((None, 3, 3, 4))
    plain.set_weights([kernel])
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(plain(first)),
        keras.ops.convert_to_numpy(plain(second)),
        atol=1e-6,
    )


def test_equal_scores_average_the_map(rng):
    maps = rng.normal(size=(2, 3, 3, 4)).astype("float32")
    layer = SpatialAttentionPooling(num_heads=2, positional=False)
    layer.build(maps.shape)
    layer.set_weights([np.zeros((4, 2), "float32")])
    mean = maps.mean(axis=(1, 2))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(maps)), np.concatenate([mean, mean], -1), atol=1e-5
    )


def test_content_only_accepts_any_map_size(rng):
    inputs = keras.Input(shape=(None, None, 4))
    model = keras.Model(inputs, SpatialAttentionPooling(num_heads=2, positional=False)(inputs))
    for size in (2, 5):
        out = model(rng.normal(size=(3, size, size + 1, 4)).astype("float32"))
        assert tuple(out.shape) == (3, 8)


def test_clear_errors():
    with pytest.raises(ValueError, match="num_heads=0"):
        SpatialAttentionPooling(num_heads=0)
    with pytest.raises(ValueError, match="positional='yes'"):
        SpatialAttentionPooling(positional="yes")
    with pytest.raises(ValueError, match="height and width of its input must be known"):
        SpatialAttentionPooling()(keras.Input(shape=(None, None, 4)))
    with pytest.raises(ValueError, match="received input_shape=\\(None, 4, 4\\)"):
        SpatialAttentionPooling().build((None, 4, 4))
