import numpy as np
import pytest

from mmkeras.layers.modeling import TokenAndPositionEmbedding
from mmkeras.testing import run_layer_test


def test_layer_harness():
    run_layer_test(
        TokenAndPositionEmbedding,
        init_kwargs={"vocab_size": 10, "max_length": 6, "embedding_dim": 4},
        input_shape=(2, 5),
        input_dtype="int32",
        expected_output_shape=(2, 5, 4),
        expected_num_trainable_weights=2,
        run_training_check=False,
    )


def test_position_changes_the_embedding_of_a_token():
    import keras

    layer = TokenAndPositionEmbedding(vocab_size=10, max_length=4, embedding_dim=8)
    out = keras.ops.convert_to_numpy(layer(np.array([[3, 3, 3]], "int32")))
    assert not np.allclose(out[0, 0], out[0, 1])
    position = keras.ops.convert_to_numpy(layer.position_embeddings)
    np.testing.assert_allclose(out[0, 1] - out[0, 0], position[1] - position[0], rtol=1e-5)


def test_shorter_sequences_reuse_the_first_positions():
    import keras

    layer = TokenAndPositionEmbedding(vocab_size=10, max_length=6, embedding_dim=4)
    long_out = keras.ops.convert_to_numpy(layer(np.array([[1, 2, 3, 4, 5]], "int32")))
    short_out = keras.ops.convert_to_numpy(layer(np.array([[1, 2]], "int32")))
    np.testing.assert_allclose(short_out, long_out[:, :2], rtol=1e-6)


def test_rejects_sequences_longer_than_max_length():
    with pytest.raises(ValueError, match="max_length=3"):
        TokenAndPositionEmbedding(vocab_size=10, max_length=3, embedding_dim=4)(
            np.zeros((1, 5), "int32")
        )


@pytest.mark.parametrize("argument", ["vocab_size", "max_length", "embedding_dim"])
def test_rejects_non_positive_sizes(argument):
    kwargs = {"vocab_size": 10, "max_length": 3, "embedding_dim": 4, argument: 0}
    with pytest.raises(ValueError, match=f"{argument}=0"):
        TokenAndPositionEmbedding(**kwargs)
