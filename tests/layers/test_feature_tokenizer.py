import numpy as np
import pytest

from mmkeras.layers.modeling import FeatureTokenizer
from mmkeras.testing import run_layer_test


def test_layer_harness():
    run_layer_test(
        FeatureTokenizer,
        init_kwargs={"embedding_dim": 3},
        input_shape=(2, 4),
        expected_output_shape=(2, 4, 3),
        expected_num_trainable_weights=2,
    )


def test_each_feature_has_its_own_affine_token(rng):
    import keras

    layer = FeatureTokenizer(embedding_dim=3, bias_initializer="random_normal")
    values = rng.normal(size=(2, 4)).astype("float32")
    tokens = keras.ops.convert_to_numpy(layer(values))
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    bias = keras.ops.convert_to_numpy(layer.bias)
    np.testing.assert_allclose(tokens, values[..., None] * kernel + bias, rtol=1e-5)


def test_rejects_bad_embedding_dim():
    with pytest.raises(ValueError, match="embedding_dim=-1"):
        FeatureTokenizer(embedding_dim=-1)
