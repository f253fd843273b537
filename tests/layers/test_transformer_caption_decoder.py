import numpy as np
import pytest

from mmkeras.layers.captioning import TransformerCaptionDecoder
from mmkeras.testing import run_layer_test


@pytest.mark.slow
def test_layer_harness_with_attention():
    run_layer_test(
        TransformerCaptionDecoder,
        init_kwargs={"vocab_size": 7, "max_length": 6, "hidden_dim": 4, "num_layers": 1},
        input_shape=((2, 5), (2, 3), (2, 4, 3)),
        input_dtype=("int32", "float32", "float32"),
        expected_output_shape=(2, 5, 7),
    )


@pytest.mark.slow
def test_layer_harness_without_attention():
    run_layer_test(
        TransformerCaptionDecoder,
        init_kwargs={
            "vocab_size": 7,
            "max_length": 5,
            "hidden_dim": 4,
            "num_layers": 2,
            "attention": False,
        },
        input_shape=((2, 5), (2, 3)),
        input_dtype=("int32", "float32"),
        expected_output_shape=(2, 5, 7),
    )


def test_is_causal_and_uses_the_image(rng):
    import keras

    decoder = TransformerCaptionDecoder(vocab_size=9, max_length=5, hidden_dim=8, num_layers=2)
    tokens = np.array([[2, 4, 5, 6, 7]], "int32")
    changed = tokens.copy()
    changed[0, 3:] = [8, 8]
    feature = rng.normal(size=(1, 3)).astype("float32")
    regions = rng.normal(size=(1, 4, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(decoder((tokens, feature, regions)))
    out_changed = keras.ops.convert_to_numpy(decoder((changed, feature, regions)))
    np.testing.assert_allclose(out_changed[:, :3], out[:, :3], atol=1e-5)
    assert not np.allclose(keras.ops.convert_to_numpy(decoder((tokens, feature, -regions))), out)
    assert not np.allclose(keras.ops.convert_to_numpy(decoder((tokens, -feature, regions))), out)


def test_rejects_sequences_longer_than_max_length():
    decoder = TransformerCaptionDecoder(vocab_size=5, max_length=3, hidden_dim=4, attention=False)
    with pytest.raises(ValueError, match="max_length=3"):
        decoder((np.zeros((1, 4), "int32"), np.zeros((1, 2), "float32")))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vocab_size": 5, "max_length": 0}, "max_length=0"),
        ({"vocab_size": 5, "max_length": 4, "hidden_dim": 6, "num_heads": 4}, "num_heads=4"),
        ({"vocab_size": 5, "max_length": 4, "dropout": -0.1}, "dropout=-0.1"),
    ],
)
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TransformerCaptionDecoder(**kwargs)
