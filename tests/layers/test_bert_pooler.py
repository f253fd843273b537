import numpy as np
import pytest

from mmkeras.layers.bert import BERTPooler
from mmkeras.testing import run_layer_test


@pytest.mark.parametrize("dense, n_weights", [(True, 2), (False, 0)])
def test_layer_harness(dense, n_weights):
    run_layer_test(
        BERTPooler,
        init_kwargs={"dense": dense},
        input_shape=(2, 5, 8),
        expected_output_shape=(2, 8),
        expected_num_trainable_weights=n_weights,
        run_training_check=dense,
    )


def test_reads_the_first_position(rng):
    import keras

    x = rng.normal(size=(2, 4, 3)).astype("float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(BERTPooler(dense=False)(x)), x[:, 0])
    pooler = BERTPooler(dense=True)
    out = keras.ops.convert_to_numpy(pooler(x))
    kernel, bias = pooler.get_weights()
    np.testing.assert_allclose(out, np.tanh(x[:, 0] @ kernel + bias), atol=1e-6)


def test_dense_must_be_a_bool():
    with pytest.raises(ValueError, match="dense"):
        BERTPooler(dense="yes")
