import numpy as np
import pytest

from mmkeras.layers.captioning import TransformerDecoderBlock
from mmkeras.testing import run_layer_test


def test_layer_harness_with_cross_attention():
    run_layer_test(
        TransformerDecoderBlock,
        init_kwargs={"num_heads": 2, "intermediate_dim": 8, "dropout": 0.1},
        input_shape=((2, 5, 4), (2, 3, 6)),
        expected_output_shape=(2, 5, 4),
        # self and cross attention 8 each, 3 layer norms x 2, 2 dense x 2
        expected_num_trainable_weights=26,
    )


def test_layer_harness_without_cross_attention():
    run_layer_test(
        TransformerDecoderBlock,
        init_kwargs={"num_heads": 1, "intermediate_dim": 8, "cross_attention": False},
        input_shape=(2, 5, 4),
        expected_output_shape=(2, 5, 4),
        expected_num_trainable_weights=16,
    )


def test_positions_do_not_see_later_positions(rng):
    import keras

    block = TransformerDecoderBlock(num_heads=2, intermediate_dim=8)
    x = rng.normal(size=(1, 6, 4)).astype("float32")
    memory = rng.normal(size=(1, 3, 4)).astype("float32")
    changed = x.copy()
    changed[:, 4:] = rng.normal(size=(1, 2, 4))
    out = keras.ops.convert_to_numpy(block((x, memory)))
    out_changed = keras.ops.convert_to_numpy(block((changed, memory)))
    np.testing.assert_allclose(out_changed[:, :4], out[:, :4], atol=1e-5)
    assert not np.allclose(out_changed[:, 4:], out[:, 4:])


def test_masked_memory_regions_are_ignored(rng):
    import keras

    block = TransformerDecoderBlock(num_heads=2, intermediate_dim=8)
    x = rng.normal(size=(1, 3, 4)).astype("float32")
    memory = rng.normal(size=(1, 2, 4)).astype("float32")
    padded = np.concatenate([memory, rng.normal(size=(1, 3, 4)).astype("float32")], axis=1)
    mask = np.array([[True, True, False, False, False]])
    out = keras.ops.convert_to_numpy(block((x, memory)))
    out_padded = keras.ops.convert_to_numpy(block((x, padded, mask)))
    np.testing.assert_allclose(out_padded, out, atol=1e-5)


def test_rejects_missing_memory():
    with pytest.raises(ValueError, match="cross_attention=True"):
        TransformerDecoderBlock(num_heads=1, intermediate_dim=4)(np.zeros((1, 2, 4), "float32"))


def test_rejects_bad_dropout():
    with pytest.raises(ValueError, match="dropout=1.0"):
        TransformerDecoderBlock(num_heads=1, intermediate_dim=4, dropout=1.0)
