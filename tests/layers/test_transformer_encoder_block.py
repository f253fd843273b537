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
