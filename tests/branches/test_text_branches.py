import keras
import numpy as np
import pytest

from mmkeras import branches

BUILDERS = {
    "text_rnn_lstm": lambda: branches.text_rnn(
        vocab_size=12, cell="lstm", embedding_dim=4, units=3, output_dim=5, dropout=0.0
    ),
    "text_rnn_gru_2_layers_mean": lambda: branches.text_rnn(
        vocab_size=12,
        cell="gru",
        num_layers=2,
        bidirectional=False,
        pooling="mean",
        embedding_dim=4,
        units=3,
        output_dim=5,
    ),
    "text_transformer": lambda: branches.text_transformer(
        vocab_size=12, num_layers=2, num_heads=2, embedding_dim=4, max_length=10, output_dim=5
    ),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_appending_padding_does_not_change_the_feature(name):
    branch = BUILDERS[name]()
    short = np.array([[3, 4, 5], [6, 7, 2]], "int32")
    padded = np.concatenate([short, np.zeros((2, 4), "int32")], axis=1)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(branch(padded)),
        keras.ops.convert_to_numpy(branch(short)),
        atol=1e-5,
    )


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_token_order_matters(name):
    branch = BUILDERS[name]()
    out = keras.ops.convert_to_numpy(branch(np.array([[3, 4, 5], [5, 4, 3]], "int32")))
    assert not np.allclose(out[0], out[1])


def test_text_rnn_fixed_max_length_input():
    branch = branches.text_rnn(vocab_size=12, embedding_dim=4, units=3, output_dim=5, max_length=7)
    assert tuple(branch.inputs[0].shape) == (None, 7)
    assert branch.inputs[0].dtype == "int32"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"cell": "rnn"}, "cell='rnn'.*'lstm', 'gru'"),
        ({"vocab_size": 0}, "vocab_size=0"),
        ({"num_layers": -1}, "num_layers=-1"),
        ({"output_dim": 2.5}, "output_dim=2.5"),
        ({"pooling": "max"}, "pooling='max'"),
        ({"dropout": 1.0}, "dropout=1.0"),
    ],
)
def test_text_rnn_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        branches.text_rnn(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_heads": 3, "embedding_dim": 8}, "num_heads=3"),
        ({"max_length": 0}, "max_length=0"),
        ({"num_layers": 0}, "num_layers=0"),
    ],
)
def test_text_transformer_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        branches.text_transformer(vocab_size=12, **kwargs)
