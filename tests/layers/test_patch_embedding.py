import numpy as np
import pytest

from mmkeras.layers.modeling import PatchEmbedding
from mmkeras.testing import run_layer_test


def test_layer_harness_with_class_token():
    run_layer_test(
        PatchEmbedding,
        init_kwargs={"hidden_dim": 6, "patch_size": 4, "class_token": True, "use_bias": False},
        input_shape=(2, 8, 12, 3),
        expected_output_shape=(2, 7, 6),
        # projection kernel, class embedding, position table
        expected_num_trainable_weights=3,
    )


def test_layer_harness_without_class_token():
    run_layer_test(
        PatchEmbedding,
        init_kwargs={"hidden_dim": 6, "patch_size": 4, "class_token": False},
        input_shape=(2, 8, 8, 3),
        expected_output_shape=(2, 4, 6),
        expected_num_trainable_weights=3,
    )


def test_patches_are_read_row_by_row_after_the_class_token(rng):
    import keras

    layer = PatchEmbedding(hidden_dim=3, patch_size=2, class_token=True, use_bias=False)
    images = rng.normal(size=(1, 4, 6, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(layer(images))
    kernel = keras.ops.convert_to_numpy(layer.projection.kernel)
    positions = keras.ops.convert_to_numpy(layer.position_embedding)
    expected = [keras.ops.convert_to_numpy(layer.class_embedding)]
    for row in range(2):
        for col in range(3):
            patch = images[0, 2 * row : 2 * row + 2, 2 * col : 2 * col + 2]
            expected.append(np.einsum("hwc,hwcd->d", patch, kernel))
    np.testing.assert_allclose(out[0], np.stack(expected) + positions, atol=1e-5)


def test_rejects_an_image_the_patches_do_not_tile():
    with pytest.raises(ValueError, match="patch_size=4 must divide"):
        PatchEmbedding(hidden_dim=3, patch_size=4)(np.zeros((1, 6, 8, 3), "float32"))


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="hidden_dim"):
        PatchEmbedding(hidden_dim=0, patch_size=2)
    with pytest.raises(ValueError, match="class_token"):
        PatchEmbedding(hidden_dim=4, patch_size=2, class_token="yes")
