import numpy as np
import pytest

from mmkeras.layers.modeling import TransformerEncoderBlock
from mmkeras.testing import run_layer_test


def test_layer_harness():
    run_layer_test(
        TransformerEncoderBlock,
        init_kwargs={"num_heads": 2, "intermediate_dim": 8, "dropout": 0.1},
        input_shape=(2, 5, 4),
        expected_output_shape=(2, 5, 4),
        # attention q/k/v/output kernels+biases, 2 layer norms x 2, 2 dense x 2
        expected_num_trainable_weights=16,
    )


def test_padded_keys_do_not_change_real_positions(rng):
    import keras

    block = TransformerEncoderBlock(num_heads=2, intermediate_dim=8)
    real = rng.normal(size=(1, 3, 4)).astype("float32")
    padded = np.concatenate([real, rng.normal(size=(1, 2, 4)).astype("float32")], axis=1)
    mask = np.array([[True, True, True, False, False]])
    out_real = keras.ops.convert_to_numpy(block(real))
    out_padded = keras.ops.convert_to_numpy(block(padded, mask=mask))
    np.testing.assert_allclose(out_padded[:, :3], out_real, atol=1e-5)


def test_rejects_dim_not_divisible_by_heads():
    with pytest.raises(ValueError, match="num_heads=3"):
        TransformerEncoderBlock(num_heads=3, intermediate_dim=8)(np.zeros((1, 2, 4), "float32"))


def test_rejects_bad_dropout():
    with pytest.raises(ValueError, match="dropout=1.5"):
        TransformerEncoderBlock(num_heads=1, intermediate_dim=8, dropout=1.5)


def test_layer_harness_causal():
    run_layer_test(
        TransformerEncoderBlock,
        init_kwargs={"num_heads": 2, "intermediate_dim": 8, "use_causal_mask": True},
        input_shape=(2, 5, 4),
        expected_output_shape=(2, 5, 4),
        expected_num_trainable_weights=16,
    )


def test_causal_block_does_not_look_ahead(rng):
    import keras

    block = TransformerEncoderBlock(num_heads=2, intermediate_dim=8, use_causal_mask=True)
    x = rng.normal(size=(1, 5, 4)).astype("float32")
    changed = x.copy()
    changed[:, 3:] = rng.normal(size=(1, 2, 4))
    out, out_changed = (keras.ops.convert_to_numpy(block(v)) for v in (x, changed))
    np.testing.assert_allclose(out[:, :3], out_changed[:, :3], atol=1e-6)
    assert np.abs(out[:, 3:] - out_changed[:, 3:]).max() > 1e-3


def test_padded_queries_attend_to_the_real_keys(rng):
    """A padded position's output is what it would be with the padded keys removed, in a
    stack of blocks too (the mask is not attached to a block's output)."""
    import keras

    blocks = [TransformerEncoderBlock(num_heads=2, intermediate_dim=8) for _ in range(2)]
    x = rng.normal(size=(1, 5, 4)).astype("float32")
    mask = np.array([[True, True, True, False, False]])
    inputs = keras.Input((5, 4))
    mask_input = keras.Input((5,), dtype="bool")
    h = inputs
    for block in blocks:
        h = block(h, mask=mask_input)
    out = keras.ops.convert_to_numpy(keras.Model([inputs, mask_input], h)([x, mask]))
    for position in (3, 4):
        alone = np.concatenate([x[:, :3], x[:, position : position + 1]], axis=1)
        expected = alone
        row_mask = np.array([[True, True, True, False]])
        for block in blocks:
            expected = keras.ops.convert_to_numpy(block(expected, mask=row_mask))
        np.testing.assert_allclose(out[:, :3], expected[:, :3], atol=1e-5)
        np.testing.assert_allclose(out[:, position], expected[:, 3], atol=1e-5)


def test_rejects_bad_use_causal_mask():
    with pytest.raises(ValueError, match="use_causal_mask"):
        TransformerEncoderBlock(num_heads=1, intermediate_dim=8, use_causal_mask="yes")
