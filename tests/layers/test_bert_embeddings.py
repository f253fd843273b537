import numpy as np
import pytest

from mmkeras.layers.bert import BERTEmbeddings
from mmkeras.testing import run_layer_test


def test_layer_harness():
    run_layer_test(
        BERTEmbeddings,
        init_kwargs={"vocab_size": 20, "hidden_size": 8, "max_position_embeddings": 16},
        input_data=np.array([[2, 5, 7, 0], [3, 1, 0, 0]], "int32"),
        expected_output_shape=(2, 4, 8),
        expected_num_trainable_weights=5,
        run_training_check=False,
    )


def test_sum_of_word_position_and_first_segment_then_layer_norm():
    import keras

    layer = BERTEmbeddings(vocab_size=10, hidden_size=4, max_position_embeddings=8, dropout=0.0)
    ids = np.array([[3, 1, 4]], "int32")
    out = keras.ops.convert_to_numpy(layer(ids))
    word, pos, seg, gamma, beta = (keras.ops.convert_to_numpy(w) for w in layer.weights)
    x = word[ids[0]] + pos[:3] + seg[0]
    expected = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-12)
    np.testing.assert_allclose(out[0], expected * gamma + beta, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"vocab_size": 0}, "vocab_size"), ({"dropout": 1.0}, "dropout"),
     ({"layer_norm_epsilon": 0}, "layer_norm_epsilon")],
)  # fmt: skip
def test_bad_arguments_are_named(kwargs, name):
    args = {"vocab_size": 10, "hidden_size": 4, **kwargs}
    with pytest.raises(ValueError, match=name):
        BERTEmbeddings(**args)
