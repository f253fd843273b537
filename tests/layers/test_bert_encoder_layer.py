import numpy as np
import pytest

from mmkeras.layers.bert import BERTEncoderLayer
from mmkeras.testing import run_layer_test


def test_layer_harness():
    run_layer_test(
        BERTEncoderLayer,
        init_kwargs={"num_heads": 2, "intermediate_size": 16},
        input_shape=(2, 5, 8),
        expected_output_shape=(2, 5, 8),
        expected_num_trainable_weights=16,
    )


def test_padding_does_not_change_real_positions(rng):
    import keras

    layer = BERTEncoderLayer(num_heads=2, intermediate_size=16, dropout=0.0, attention_dropout=0.0)
    x = rng.normal(size=(1, 3, 8)).astype("float32")
    padded = np.concatenate([x, rng.normal(size=(1, 2, 8)).astype("float32")], axis=1)
    mask = np.array([[True, True, True, False, False]])
    short = keras.ops.convert_to_numpy(layer(x))
    long = keras.ops.convert_to_numpy(layer(padded, mask=mask))
    np.testing.assert_allclose(long[:, :3], short, atol=1e-5)


def test_matches_a_numpy_bert_layer_with_exact_gelu(rng):
    import math

    import keras

    erf = np.vectorize(math.erf)

    layer = BERTEncoderLayer(num_heads=2, intermediate_size=6, dropout=0.0, attention_dropout=0.0)
    x = rng.normal(size=(1, 3, 4)).astype("float32")
    layer.build(x.shape)
    layer.set_weights([rng.normal(0, 0.5, size=w.shape).astype("float32") for w in layer.weights])
    qk, qb, kk, kb, vk, vb, ok, ob, g1, b1, ik, ib, fk, fb, g2, b2 = layer.get_weights()

    def norm(h, g, b):
        return (h - h.mean(-1, keepdims=True)) / np.sqrt(h.var(-1, keepdims=True) + 1e-12) * g + b

    def heads(t):
        return t.reshape(3, 2, 2).transpose(1, 0, 2)

    q, k, v = heads(x[0] @ qk + qb), heads(x[0] @ kk + kb), heads(x[0] @ vk + vb)
    s = q @ k.transpose(0, 2, 1) / np.sqrt(2.0)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    ctx = (p @ v).transpose(1, 0, 2).reshape(3, 4)
    h = norm(x[0] + ctx @ ok + ob, g1, b1)
    a = h @ ik + ib
    a = 0.5 * a * (1 + erf(a / np.sqrt(2.0)))
    expected = norm(h + a @ fk + fb, g2, b2)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x))[0], expected, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"num_heads": 0}, "num_heads"), ({"activation": "gelu_approx"}, "activation"),
     ({"attention_dropout": -0.1}, "attention_dropout")],
)  # fmt: skip
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        BERTEncoderLayer(**{"num_heads": 2, "intermediate_size": 8, **kwargs})


def test_width_not_divisible_by_heads_is_rejected():
    with pytest.raises(ValueError, match="num_heads=3"):
        BERTEncoderLayer(num_heads=3, intermediate_size=8).build((None, 4, 8))
