import numpy as np
import pytest

from mmkeras.layers.modeling import CaffePreprocessing
from mmkeras.testing import run_layer_test


def test_layer_harness():
    run_layer_test(
        CaffePreprocessing,
        init_kwargs={},
        input_shape=(2, 4, 4, 3),
        expected_output_shape=(2, 4, 4, 3),
        expected_num_trainable_weights=0,
        run_training_check=False,
    )


def test_matches_keras_resnet50_preprocess_input():
    import keras

    images = np.random.default_rng(0).uniform(0, 255, (2, 5, 5, 3)).astype("float32")
    expected = keras.applications.resnet50.preprocess_input(images.copy())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(CaffePreprocessing()(images)), expected, atol=1e-4
    )


def test_rejects_non_rgb_input():
    with pytest.raises(ValueError, match="3 channels"):
        CaffePreprocessing()(np.zeros((1, 4, 4, 1), "float32"))
