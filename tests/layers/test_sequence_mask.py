import numpy as np
import pytest

from mmkeras.layers.modeling import SequenceMask
from mmkeras.testing import run_layer_test


def test_layer_harness_for_sequences():
    run_layer_test(
        SequenceMask,
        init_kwargs={},
        input_shape=(2, 5, 3),
        expected_output_shape=(2, 5),
        expected_output_dtype="bool",
        run_training_check=False,
    )


def test_layer_harness_for_token_ids():
    run_layer_test(
        SequenceMask,
        init_kwargs={"padding_id": 0},
        input_shape=(2, 5),
        input_dtype="int32",
        expected_output_shape=(2, 5),
        expected_output_dtype="bool",
        run_training_check=False,
    )


def test_token_ids_mask_is_false_at_padding_only():
    import keras

    mask = SequenceMask(padding_id=0)(np.array([[4, 1, 0, 0], [0, 2, 3, 9]], "int32"))
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(mask), [[True, True, False, False], [False, True, True, True]]
    )


def test_sequence_mask_is_all_true():
    import keras

    mask = keras.ops.convert_to_numpy(SequenceMask()(np.zeros((3, 7, 2), "float32")))
    assert mask.shape == (3, 7) and mask.dtype == bool and mask.all()


def test_rejects_bad_padding_id():
    with pytest.raises(ValueError, match="padding_id"):
        SequenceMask(padding_id="0")
