import math

import numpy as np
import pytest

from mmkeras.layers.speech import SpeechEncoderLayer
from mmkeras.testing import run_layer_test

_erf = np.vectorize(math.erf)


@pytest.mark.parametrize("pre_norm", [False, True])
def test_layer_harness(pre_norm):
    run_layer_test(
        SpeechEncoderLayer,
        init_kwargs={"num_heads": 2, "intermediate_size": 16, "pre_norm": pre_norm},
        input_shape=(2, 5, 8),
        expected_output_shape=(2, 5, 8),
        expected_num_trainable_weights=16,
    )


def test_layer_harness_with_lora_and_layerdrop():
    run_layer_test(
        SpeechEncoderLayer,
        init_kwargs={"num_heads": 2, "intermediate_size": 16, "lora_rank": 2, "layerdrop": 0.1},
        input_shape=(2, 5, 8),
        expected_output_shape=(2, 5, 8),
        expected_num_trainable_weights=18,  # 16, less the query and value kernels, plus 4 adapters
        expected_num_seed_generators=4,  # three dropouts and LayerDrop
    )


def _numpy_layer(layer, x, pre_norm):
    import keras

    w = {v.path.split("/", 1)[1]: keras.ops.convert_to_numpy(v) for v in layer.weights}

    def dense(h, name):
        return h @ w[f"{name}/kernel"] + w[f"{name}/bias"]

    def norm(h, name):
        normed = (h - h.mean(-1, keepdims=True)) / np.sqrt(h.var(-1, keepdims=True) + 1e-5)
        return normed * w[f"{name}/gamma"] + w[f"{name}/beta"]

    def heads(t):
        return t.reshape(t.shape[0], 2, -1).transpose(1, 0, 2)

    def attend(h):
        q, k, v = heads(dense(h, "query")), heads(dense(h, "key")), heads(dense(h, "value"))
        s = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
        p = np.exp(s - s.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        return dense((p @ v).transpose(1, 0, 2).reshape(h.shape), "attention_output")

    def ffn(h):
        a = dense(h, "intermediate")
        return dense(0.5 * a * (1 + _erf(a / np.sqrt(2.0))), "output")

    if pre_norm:
        h = x + attend(norm(x, "attention_layer_norm"))
        return h + ffn(norm(h, "final_layer_norm"))
    h = norm(x + attend(x), "attention_layer_norm")
    return norm(h + ffn(h), "final_layer_norm")


@pytest.mark.parametrize("pre_norm", [False, True])
def test_matches_a_numpy_layer(pre_norm, rng):
    import keras

    layer = SpeechEncoderLayer(num_heads=2, intermediate_size=6, pre_norm=pre_norm)
    x = rng.normal(size=(1, 3, 4)).astype("float32")
    layer.build(x.shape)
    layer.set_weights([rng.normal(0, 0.5, size=w.shape).astype("float32") for w in layer.weights])
    expected = _numpy_layer(layer, x[0], pre_norm)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x))[0], expected, atol=1e-5)


def test_padded_frames_get_no_attention(rng):
    import keras

    layer = SpeechEncoderLayer(
        num_heads=2, intermediate_size=16, dropout=0.0, attention_dropout=0.0
    )
    x = rng.normal(size=(1, 3, 8)).astype("float32")
    padded = np.concatenate([x, rng.normal(size=(1, 2, 8)).astype("float32")], axis=1)
    mask = np.array([[True, True, True, False, False]])
    alone = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(padded, mask=mask))[:, :3], alone, atol=1e-5
    )


def test_layerdrop_passes_the_input_on_in_training_only(rng):
    import keras

    layer = SpeechEncoderLayer(num_heads=2, intermediate_size=16, dropout=0.0,
                               attention_dropout=0.0, layerdrop=0.999999, seed=3)  # fmt: skip
    x = rng.normal(size=(1, 3, 8)).astype("float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=True)), x)
    assert np.abs(keras.ops.convert_to_numpy(layer(x, training=False)) - x).max() > 1e-3


def test_enable_lora_trains_adapters_and_keeps_outputs(rng):
    import keras

    layer = SpeechEncoderLayer(num_heads=2, intermediate_size=16)
    x = rng.normal(size=(1, 3, 8)).astype("float32")
    before = keras.ops.convert_to_numpy(layer(x))
    layer.enable_lora(2)
    assert layer.get_config()["lora_rank"] == 2
    trainable = {v.path.split("/", 1)[1] for v in layer.trainable_weights}
    assert sorted(name for name in trainable if "lora" in name) == [
        "query/lora_kernel_a", "query/lora_kernel_b", "value/lora_kernel_a", "value/lora_kernel_b"
    ]  # fmt: skip
    assert "query/kernel" not in trainable and "value/kernel" not in trainable
    assert "key/kernel" in trainable
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), before, atol=1e-6)
    with pytest.raises(ValueError, match="already has LoRA adapters"):
        layer.enable_lora(2)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"num_heads": 0}, "num_heads"), ({"activation": "gelu_approx"}, "activation"),
     ({"layerdrop": 1.0}, "layerdrop"), ({"pre_norm": 1}, "pre_norm")],
)  # fmt: skip
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SpeechEncoderLayer(**{"num_heads": 2, "intermediate_size": 8, **kwargs})


def test_width_not_divisible_by_heads_is_rejected():
    with pytest.raises(ValueError, match="num_heads=3"):
        SpeechEncoderLayer(num_heads=3, intermediate_size=8).build((None, 4, 8))
