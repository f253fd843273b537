import numpy as np
import pytest

from mmkeras.layers.captioning import LSTMCaptionDecoder
from mmkeras.testing import run_layer_test


def test_layer_harness_show_and_tell():
    run_layer_test(
        LSTMCaptionDecoder,
        init_kwargs={"vocab_size": 7, "embedding_dim": 4, "units": 6, "attention": False},
        input_shape=((2, 5), (2, 3)),
        input_dtype=("int32", "float32"),
        expected_output_shape=(2, 5, 7),
        # embedding, 2 initial-state dense x 2, lstm 3, output 2
        expected_num_trainable_weights=10,
    )


@pytest.mark.slow
def test_layer_harness_with_attention():
    run_layer_test(
        LSTMCaptionDecoder,
        init_kwargs={"vocab_size": 7, "embedding_dim": 4, "units": 6, "num_heads": 2},
        input_shape=((2, 5), (2, 3), (2, 4, 3)),
        input_dtype=("int32", "float32", "float32"),
        expected_output_shape=(2, 5, 7),
        # plus memory projection 2, attention 8, combine 2
        expected_num_trainable_weights=22,
    )


def test_is_causal_and_uses_the_image(rng):
    import keras

    decoder = LSTMCaptionDecoder(vocab_size=9, embedding_dim=4, units=8, num_heads=2)
    tokens = np.array([[2, 4, 5, 6, 7]], "int32")
    changed = tokens.copy()
    changed[0, 3:] = [8, 8]
    feature = rng.normal(size=(1, 3)).astype("float32")
    regions = rng.normal(size=(1, 4, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(decoder((tokens, feature, regions)))
    out_changed = keras.ops.convert_to_numpy(decoder((changed, feature, regions)))
    np.testing.assert_allclose(out_changed[:, :3], out[:, :3], atol=1e-5)
    other_regions = keras.ops.convert_to_numpy(decoder((tokens, feature, regions + 1.0)))
    other_feature = keras.ops.convert_to_numpy(decoder((tokens, feature + 1.0, regions)))
    assert not np.allclose(other_regions, out)
    assert not np.allclose(other_feature, out)


def test_masked_regions_are_ignored(rng):
    import keras

    decoder = LSTMCaptionDecoder(vocab_size=9, embedding_dim=4, units=8)
    tokens = np.array([[2, 4, 5]], "int32")
    feature = rng.normal(size=(1, 3)).astype("float32")
    regions = rng.normal(size=(1, 2, 3)).astype("float32")
    padded = np.concatenate([regions, rng.normal(size=(1, 2, 3)).astype("float32")], axis=1)
    mask = np.array([[True, True, False, False]])
    out = keras.ops.convert_to_numpy(decoder((tokens, feature, regions)))
    out_padded = keras.ops.convert_to_numpy(decoder((tokens, feature, padded, mask)))
    np.testing.assert_allclose(out_padded, out, atol=1e-5)


def test_attention_needs_regions():
    with pytest.raises(ValueError, match="return_sequence=True"):
        LSTMCaptionDecoder(vocab_size=5)((np.zeros((1, 3), "int32"), np.zeros((1, 4), "float32")))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vocab_size": 0}, "vocab_size=0"),
        ({"vocab_size": 5, "units": 6, "num_heads": 4}, "num_heads=4"),
        ({"vocab_size": 5, "attention": "yes"}, "attention='yes'"),
    ],
)
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LSTMCaptionDecoder(**kwargs)
