import keras
import numpy as np
import pytest

from mmkeras.layers.modeling import FixedPositionEmbedding
from mmkeras.layers.modeling.fixed_position_embedding import sinusoids
from mmkeras.testing import run_layer_test


def test_layer_harness():
    run_layer_test(
        FixedPositionEmbedding,
        init_kwargs={"max_length": 7},
        input_shape=(2, 5, 8),
        expected_output_shape=(2, 5, 8),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=1,
        run_training_check=False,
    )


def test_adds_the_first_rows_of_the_table(rng):
    layer = FixedPositionEmbedding(max_length=6)
    x = rng.normal(size=(2, 4, 8)).astype("float32")
    out = keras.ops.convert_to_numpy(layer(x))
    table = rng.normal(size=(6, 8)).astype("float32")
    layer.table.assign(table)
    out = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(out, x + table[None, :4], atol=1e-6)


def test_starts_as_whisper_sinusoids():
    layer = FixedPositionEmbedding(max_length=5)
    layer.build((None, 5, 8))
    table = keras.ops.convert_to_numpy(layer.table)
    np.testing.assert_allclose(table, sinusoids(5, 8), atol=1e-6)
    np.testing.assert_allclose(table[0], [0, 0, 0, 0, 1, 1, 1, 1], atol=1e-7)
    # Position 1, fastest timescale: sin(1) and cos(1); slowest: 1e-4 rad.
    np.testing.assert_allclose(table[1, [0, 3, 4]], [np.sin(1.0), np.sin(1e-4), np.cos(1.0)])


def test_stays_fixed_when_set_trainable():
    layer = FixedPositionEmbedding(max_length=5)
    layer.build((None, 5, 8))
    layer.trainable = True
    assert layer.trainable_weights == []


def test_rejects_a_sequence_longer_than_the_table():
    with pytest.raises(ValueError, match="6 steps, more than the table's max_length=5"):
        FixedPositionEmbedding(max_length=5)(np.zeros((1, 6, 4), "float32"))
    with pytest.raises(ValueError, match="max_length=0"):
        FixedPositionEmbedding(max_length=0)
