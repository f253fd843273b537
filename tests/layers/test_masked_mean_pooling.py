import numpy as np

from mmkeras.layers.modeling import MaskedMeanPooling
from mmkeras.testing import run_layer_test


def test_layer_harness():
    run_layer_test(
        MaskedMeanPooling,
        init_kwargs={},
        input_shape=(2, 5, 3),
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=0,
        run_training_check=False,
    )


def test_mean_covers_real_positions_only(rng):
    import keras

    sequence = rng.normal(size=(2, 4, 3)).astype("float32")
    mask = np.array([[True, True, False, False], [True, True, True, True]])
    pooled = keras.ops.convert_to_numpy(MaskedMeanPooling()(sequence, mask=mask))
    np.testing.assert_allclose(pooled[0], sequence[0, :2].mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(pooled[1], sequence[1].mean(axis=0), rtol=1e-5)


def test_fully_masked_row_pools_to_zeros():
    import keras

    pooled = MaskedMeanPooling()(np.ones((1, 3, 2), "float32"), mask=np.zeros((1, 3), bool))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(pooled), [[0.0, 0.0]])
