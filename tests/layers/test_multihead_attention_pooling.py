import numpy as np
import pytest

from mmkeras.layers.modeling import MultiheadAttentionPooling, gelu_tanh
from mmkeras.testing import run_layer_test


def test_layer_harness():
    run_layer_test(
        MultiheadAttentionPooling,
        init_kwargs={"num_heads": 2, "intermediate_dim": 5, "activation": gelu_tanh},
        input_shape=(2, 7, 4),
        expected_output_shape=(2, 4),
        # probe, attention q/k/v/output kernels and biases, layer norm x 2, MLP 2 x 2
        expected_num_trainable_weights=15,
    )


def test_pools_the_probe_attention_through_a_residual_mlp(rng):
    import keras

    layer = MultiheadAttentionPooling(num_heads=1, intermediate_dim=3, activation="relu")
    x = rng.normal(size=(2, 5, 4)).astype("float32")
    out = keras.ops.convert_to_numpy(layer(x))
    probe = np.broadcast_to(keras.ops.convert_to_numpy(layer.probe), (2, 1, 4))
    attended = keras.ops.convert_to_numpy(layer.attention(probe, x, x))
    mlp = layer.mlp_outer(layer.mlp_inner(layer.layer_norm(attended)))
    expected = attended + keras.ops.convert_to_numpy(mlp)
    np.testing.assert_allclose(out, expected[:, 0], atol=1e-5)


def test_order_of_the_positions_does_not_matter(rng):
    import keras

    layer = MultiheadAttentionPooling(num_heads=2, intermediate_dim=3)
    x = rng.normal(size=(1, 6, 4)).astype("float32")
    shuffled = x[:, rng.permutation(6)]
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(x)), keras.ops.convert_to_numpy(layer(shuffled)), atol=1e-5
    )


def test_rejects_width_not_divisible_by_heads():
    with pytest.raises(ValueError, match="num_heads=3"):
        MultiheadAttentionPooling(num_heads=3, intermediate_dim=4)(np.zeros((1, 2, 4), "float32"))
