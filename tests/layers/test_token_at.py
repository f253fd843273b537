import keras
import numpy as np
import pytest

from mmkeras.layers.modeling import TokenAt
from mmkeras.testing import run_layer_test


def test_layer_harness():
    run_layer_test(
        TokenAt,
        init_kwargs={"index": 0},
        input_shape=(2, 5, 3),
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=0,
    )


@pytest.mark.parametrize("index", [0, 2, -1])
def test_it_returns_the_state_at_its_position(index):
    x = np.arange(2 * 4 * 3, dtype="float32").reshape(2, 4, 3)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(TokenAt(index)(x)), x[:, index])


@pytest.mark.parametrize("bad", [1.0, True, "0"])
def test_index_must_be_an_int(bad):
    with pytest.raises(ValueError, match="`index` must be an int"):
        TokenAt(bad)


def test_a_sequence_is_required():
    with pytest.raises(ValueError, match="expects a sequence"):
        TokenAt(0).compute_output_shape((2, 3))
