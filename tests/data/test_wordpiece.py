import json
import os

import numpy as np
import pytest
import tensorflow as tf

from mmkeras.data.wordpiece import WordPieceTokenizer


def _padded(rows, length):
    out = np.zeros((len(rows), length), "int32")
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def test_ids_match_reference_tokenizer(golden, minilm_path):
    tok = WordPieceTokenizer(
        os.path.join(minilm_path, "vocab.txt"), max_length=golden["max_length"]
    )
    ids = tok(tf.constant(golden["sentences"])).numpy()
    assert ids.dtype == np.int32
    np.testing.assert_array_equal(ids, _padded(golden["ids"], golden["max_length"]))


def test_long_text_is_truncated_keeping_sep(golden, minilm_path):
    tok = WordPieceTokenizer(os.path.join(minilm_path, "vocab.txt"), max_length=128)
    long_text = golden["sentences"][-1]
    ids = tok(tf.constant([long_text, ""])).numpy()
    assert ids[0, 0] == 101 and ids[0, -1] == 102 and (ids[0] != tok.pad_id).all()
    np.testing.assert_array_equal(ids[1, :3], [101, 102, tok.pad_id])


@pytest.mark.parametrize("rules", ["lower_case=False,strip_accents=None",
                                   "lower_case=False,strip_accents=True",
                                   "lower_case=True,strip_accents=False"])  # fmt: skip
def test_explicit_case_and_accent_rules_match_reference(golden, minilm_path, rules):
    lower, strip = (part.split("=")[1] for part in rules.split(","))
    tok = WordPieceTokenizer(
        os.path.join(minilm_path, "vocab.txt"),
        lower_case=lower == "True",
        strip_accents={"None": None, "True": True, "False": False}[strip],
        max_length=32,
    )
    ids = tok(tf.constant(golden["cased_sentences"])).numpy()
    np.testing.assert_array_equal(ids, _padded(golden["cased_ids"][rules], 32))


def test_rules_are_read_from_tokenizer_config(tiny_bert):
    vocab = os.path.join(tiny_bert, "vocab.txt")
    uncased = WordPieceTokenizer(vocab, max_length=8)
    assert uncased(tf.constant(["The CAT"])).numpy()[0, 1:3].tolist() == [5, 6]
    with open(os.path.join(tiny_bert, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": False}, f)
    cased = WordPieceTokenizer(vocab, max_length=8)
    assert cased(tf.constant(["The cat"])).numpy()[0, 1:3].tolist() == [1, 6]  # "The" -> [UNK]
    # Cased checkpoints keep accents unless told otherwise.
    assert cased(tf.constant(["café"])).numpy()[0, 1:3].tolist() == [18, 19]
    assert uncased(tf.constant(["café"])).numpy()[0, 1:2].tolist() == [17]


def test_attributes_config_and_scalar_input(tiny_bert):
    tok = WordPieceTokenizer(os.path.join(tiny_bert, "vocab.txt"), max_length=6)
    assert (tok.vocab_size, tok.pad_id) == (26, 0)
    again = WordPieceTokenizer.from_config(tok.get_config())
    assert again.get_config() == tok.get_config()
    np.testing.assert_array_equal(again(tf.constant("a red cat")), [2, 11, 12, 6, 3, 0])
    np.testing.assert_array_equal(tok(["the cat sat on the mat"])[0], [2, 5, 6, 8, 9, 3])


def test_runs_in_tf_data_and_tf_function(tiny_bert):
    tok = WordPieceTokenizer(os.path.join(tiny_bert, "vocab.txt"), max_length=8)
    texts = ["the cat sat", "dogs playing!", "东京"]
    eager = tok(tf.constant(texts)).numpy()
    ds = tf.data.Dataset.from_tensor_slices(texts).batch(2).map(tok)
    np.testing.assert_array_equal(np.concatenate([b.numpy() for b in ds]), eager)
    graph = tf.function(tok, input_signature=[tf.TensorSpec([None], tf.string)])
    np.testing.assert_array_equal(graph(tf.constant(texts)).numpy(), eager)
    np.testing.assert_array_equal(eager[1, :6], [2, 7, 16, 14, 15, 22])
    np.testing.assert_array_equal(eager[2, :4], [2, 24, 25, 3])


def test_invalid_utf8_is_cleaned_not_an_error(tiny_bert):
    tok = WordPieceTokenizer(os.path.join(tiny_bert, "vocab.txt"), max_length=6)
    ids = tok(tf.constant([b"the \xff\xfe cat"])).numpy()
    np.testing.assert_array_equal(ids[0], [2, 5, 6, 3, 0, 0])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_length": 1}, "max_length"),
        ({"max_length": "128"}, "max_length"),
        ({"lower_case": "yes"}, "lower_case"),
        ({"strip_accents": 1}, "strip_accents"),
    ],
)
def test_bad_arguments_are_named(tiny_bert, kwargs, message):
    with pytest.raises(ValueError, match=message):
        WordPieceTokenizer(os.path.join(tiny_bert, "vocab.txt"), **kwargs)


def test_missing_vocabulary_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="vocab.txt"):
        WordPieceTokenizer(str(tmp_path / "vocab.txt"))
