import numpy as np
import pytest

from mmkeras.layers.modeling import EndTokenPooling
from mmkeras.testing import run_layer_test


def test_layer_harness():
    run_layer_test(
        EndTokenPooling,
        init_kwargs={"end_id": 3},
        input_data=(
            np.random.default_rng(0).normal(size=(2, 4, 5)).astype("float32"),
            np.array([[1, 2, 3, 3], [1, 3, 0, 0]], "int32"),
        ),
        expected_output_shape=(2, 5),
        run_training_check=False,
    )


def _pool(states, ids, **kwargs):
    import keras

    return keras.ops.convert_to_numpy(EndTokenPooling(**kwargs)((states, np.array(ids, "int32"))))


def test_takes_the_first_end_token(rng):
    states = rng.normal(size=(3, 5, 2)).astype("float32")
    ids = [[7, 4, 9, 9, 9], [7, 9, 4, 9, 9], [7, 4, 4, 4, 4]]
    pooled = _pool(states, ids, end_id=9)
    np.testing.assert_allclose(pooled, states[[0, 1, 2], [2, 1, 0]])  # no end token: position 0


def test_without_an_end_id_takes_the_largest_id(rng):
    states = rng.normal(size=(2, 4, 2)).astype("float32")
    pooled = _pool(states, [[8, 2, 9, 9], [8, 9, 1, 0]])
    np.testing.assert_allclose(pooled, states[[0, 1], [2, 1]])


def test_rejects_bad_end_id():
    with pytest.raises(ValueError, match="end_id"):
        EndTokenPooling(end_id="</s>")
