import keras
import numpy as np
import pytest
from shape_pairs import VOCAB, make_pairs, token_ids

from mmkeras.export.captioner import export_captioner
from mmkeras.layers import SequenceMask
from mmkeras.models.captioner import Captioner

MAX_LENGTH = 8  # start + 5 words + end, one padding position


def _image_branch(return_sequence=True):
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    feature = keras.layers.Dense(32, activation="relu")(keras.layers.Flatten()(x))
    if not return_sequence:
        return keras.Model(inputs, feature, name="tiny_image")
    regions = keras.layers.Reshape((16, 32))(x)
    outputs = {"feature": feature, "sequence": regions, "sequence_mask": SequenceMask()(regions)}
    return keras.Model(inputs, outputs, name="tiny_image")


def _data(count, seed):
    images, words, _ = make_pairs(count, seed=seed)
    return images, token_ids(words, MAX_LENGTH, start_end=True)


def _train(captioner, epochs, count=320):
    images, captions = _data(count, seed=0)
    captioner.compile_defaults(learning_rate=3e-3)
    return captioner.fit(
        {"image": images, "caption": captions}, batch_size=32, epochs=epochs, verbose=0
    ).history


@pytest.fixture(scope="module")
def trained_lstm():
    keras.utils.set_random_seed(2)
    captioner = Captioner(
        _image_branch(),
        vocab_size=len(VOCAB),
        decoder="lstm",
        attention=True,
        max_length=MAX_LENGTH,
        embedding_dim=16,
        units=32,
        dropout=0.0,
    )
    test_images, test_captions = _data(48, seed=1)
    before = captioner.evaluate_bleu(test_images, test_captions)
    history = _train(captioner, epochs=8, count=480)
    return captioner, history, before, (test_images, test_captions)


@pytest.mark.slow
def test_show_attend_and_tell_learns_to_caption(trained_lstm):
    captioner, history, before, (images, captions) = trained_lstm
    assert history["loss"][-1] < 0.3 * history["loss"][0]
    assert history["token_accuracy"][-1] > 0.8
    after = captioner.evaluate_bleu(images, captions)
    # an untrained decoder scores about 0; every caption is one of 32 five-word descriptions
    assert before < 0.1
    assert after > 0.5
    texts = captioner.to_text(captioner.generate(images[:4]), VOCAB)
    references = captioner.to_text(captions[:4], VOCAB)
    assert sum(t == r for t, r in zip(texts, references, strict=False)) >= 2


@pytest.mark.slow
def test_beam_search(trained_lstm):
    captioner, _, _, (images, captions) = trained_lstm
    greedy = captioner.generate(images[:10], method="greedy")
    np.testing.assert_array_equal(
        captioner.generate(images[:10], method="beam", beam_width=1), greedy
    )
    beam = captioner.generate(images[:10], method="beam", beam_width=3, batch_size=4)
    assert beam.shape == (10, MAX_LENGTH - 1) and beam.dtype == np.int32
    assert captioner.evaluate_bleu(images, captions, method="beam", beam_width=3) > 0.5


@pytest.mark.slow
def test_save_load_with_safe_mode_and_export(trained_lstm, tmp_path):
    import tensorflow as tf

    captioner, _, _, (images, _) = trained_lstm
    expected = captioner.generate(images[:12])
    captioner.save(tmp_path / "captioner.keras")
    loaded = keras.saving.load_model(tmp_path / "captioner.keras", safe_mode=True)
    assert isinstance(loaded, Captioner) and loaded.attention
    np.testing.assert_array_equal(loaded.generate(images[:12]), expected)

    export_captioner(captioner, tmp_path / "export", VOCAB)
    served = tf.saved_model.load(str(tmp_path / "export"))
    outputs = served.serve(tf.constant(images[:12]))
    np.testing.assert_array_equal(outputs["token_ids"].numpy(), expected)
    assert [c.decode() for c in outputs["captions"].numpy()] == captioner.to_text(expected, VOCAB)
    signature = served.signatures["serving_default"]
    assert set(signature(images=tf.constant(images[:2]))) == {"token_ids", "captions"}


@pytest.mark.slow
def test_show_and_tell_transformer_learns_to_caption():
    keras.utils.set_random_seed(3)
    captioner = Captioner(
        _image_branch(return_sequence=False),
        vocab_size=len(VOCAB),
        decoder="transformer",
        attention=False,
        max_length=MAX_LENGTH,
        units=32,
        num_layers=1,
        dropout=0.0,
    )
    images, captions = _data(48, seed=1)
    before = captioner.evaluate_bleu(images, captions)
    _train(captioner, epochs=6)
    assert before < 0.1
    assert captioner.evaluate_bleu(images, captions) > 0.5


def test_loss_ignores_padding_and_shifts_targets():
    captioner = Captioner(
        _image_branch(False), vocab_size=6, attention=False, max_length=4, units=8, dropout=0.0
    )
    captions = np.array([[2, 4, 3, 0]], "int32")
    logits = np.zeros((1, 4, 6), "float32")
    logits[0, 0, 4] = 5.0  # predicts token 1 (4) well
    logits[0, 2, :] = 100.0 * np.arange(6)  # position 2 predicts padding: must not count
    loss = captioner.compute_loss(x={"caption": captions}, y_pred=logits)
    log_softmax = 5.0 - np.log(np.exp(5.0) + 5)
    expected = (-log_softmax + np.log(6.0)) / 2  # targets 4 and 3; 0 is padding
    assert float(keras.ops.convert_to_numpy(loss)) == pytest.approx(expected, rel=1e-5)


def test_caption_tokens_and_text():
    captioner = Captioner(
        _image_branch(False), vocab_size=len(VOCAB), attention=False, max_length=6, units=8
    )
    ids = np.array([[4, 6, 3, 9, 9], [2, 5, 0, 0, 0]])
    assert captioner.caption_tokens(ids) == [[4, 6], [5]]
    assert captioner.to_text(ids, VOCAB) == ["big red", "small"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"decoder": "gru"}, "decoder='gru'"),
        ({"max_length": 1}, "max_length=1"),
        ({"end_id": 2}, "must differ"),
        ({"start_id": 20}, "start_id=20"),
    ],
)
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Captioner(_image_branch(False), vocab_size=10, attention=False, **kwargs)


def test_attention_needs_a_sequence_branch():
    with pytest.raises(ValueError, match="return_sequence=True"):
        Captioner(_image_branch(return_sequence=False), vocab_size=10, attention=True)


def test_generate_rejects_bad_method():
    captioner = Captioner(
        _image_branch(False), vocab_size=10, attention=False, max_length=4, units=8
    )
    with pytest.raises(ValueError, match="method='sample'"):
        captioner.generate(np.zeros((1, 16, 16, 3)), method="sample")
