import numpy as np
import pytest

from mmkeras.layers.speech import FeatureProjection
from mmkeras.testing import run_layer_test


@pytest.mark.parametrize("layer_norm, weights", [(True, 4), (False, 2)])
def test_layer_harness(layer_norm, weights):
    run_layer_test(
        FeatureProjection,
        init_kwargs={"units": 6, "layer_norm": layer_norm, "dropout": 0.1},
        input_shape=(2, 5, 4),
        expected_output_shape=(2, 5, 6),
        expected_num_trainable_weights=weights,
    )


def test_matches_layer_norm_then_projection(rng):
    import keras

    layer = FeatureProjection(units=3, layer_norm_epsilon=1e-5)
    x = rng.normal(size=(1, 2, 4)).astype("float32")
    layer.build(x.shape)
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.weights])
    gamma, beta, kernel, bias = layer.get_weights()
    normed = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    expected = (normed * gamma + beta) @ kernel + bias
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), expected, atol=1e-5)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="units"):
        FeatureProjection(units=0)
    with pytest.raises(ValueError, match="layer_norm"):
        FeatureProjection(units=4, layer_norm="yes")
