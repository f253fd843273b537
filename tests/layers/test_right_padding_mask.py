import numpy as np
import pytest

from mmkeras.layers.modeling import RightPaddingMask
from mmkeras.testing import run_layer_test


def test_layer_harness():
    run_layer_test(
        RightPaddingMask,
        init_kwargs={"padding_id": 0},
        input_shape=(2, 5),
        input_dtype="int32",
        expected_output_shape=(2, 5),
        expected_output_dtype="bool",
        run_training_check=False,
    )


def _mask(ids, **kwargs):
    import keras

    return keras.ops.convert_to_numpy(RightPaddingMask(**kwargs)(np.array(ids, "int32")))


def test_padding_is_the_trailing_run_only():
    ids = [[5, 0, 6, 0, 0], [0, 0, 0, 0, 0], [4, 5, 6, 7, 8]]
    np.testing.assert_array_equal(
        _mask(ids, padding_id=0),
        [[1, 1, 1, 0, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]],
    )


def test_the_end_token_that_pads_is_real_once():
    # CLIP: start 8, end = pad = 9; a row of the end token alone keeps one (SigLIP's empty text).
    ids = [[8, 3, 9, 9, 9], [8, 9, 9, 9, 9], [9, 9, 9, 9, 9], [8, 9, 3, 4, 9]]
    np.testing.assert_array_equal(
        _mask(ids, padding_id=9, padding_is_end=True),
        [[1, 1, 1, 0, 0], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]],
    )


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="padding_id"):
        RightPaddingMask(padding_id=-1)
    with pytest.raises(ValueError, match="padding_is_end"):
        RightPaddingMask(padding_id=1, padding_is_end=1)
