"""The ASCII fast path of WordPieceTokenizer gives the ids of the full cleaning rules."""

import os
import random
import string

import numpy as np
import pytest
import tensorflow as tf

from mmkeras.data.wordpiece import WordPieceTokenizer


def _ascii_texts(n, words, seed=0):
    """Random printable ASCII: characters, words, punctuation runs, digits, case, long words."""
    rnd = random.Random(seed)
    printable = "".join(chr(c) for c in range(0x20, 0x7F)).replace("[", "") + "\t\n\r"
    texts = []
    for i in range(n):
        kind = i % 5
        if kind == 0:
            text = "".join(rnd.choice(printable) for _ in range(rnd.randint(0, 60)))
        elif kind == 1:
            text = " ".join(
                "".join(c.upper() if rnd.random() < 0.3 else c for c in rnd.choice(words))
                + rnd.choice(["", ",", ".", "!", "'s", "-", "(", ")", "]"])
                for _ in range(rnd.randint(1, 30))
            )
        elif kind == 2:
            text = "".join(rnd.choice(string.punctuation.replace("[", "")) for _ in range(20))
        elif kind == 3:
            text = " ".join(str(rnd.randint(0, 10 ** rnd.randint(1, 9))) + "." for _ in range(8))
        else:  # words of 99-102 characters: the [UNK] limit is 100 characters
            long_word = "".join(
                rnd.choice(string.ascii_letters) for _ in range(rnd.randint(99, 102))
            )
            text = f"{rnd.choice(words)} {long_word}!{rnd.choice(words)}"
        texts.append(text)
    return texts


def _ragged_equal(a, b):
    return a.to_list() == b.to_list()


@pytest.mark.parametrize("lower_case", [True, False])
def test_fast_path_matches_exact_path_on_ascii(minilm_path, lower_case):
    vocab_path = os.path.join(minilm_path, "vocab.txt")
    tok = WordPieceTokenizer(vocab_path, lower_case=lower_case, max_length=32)
    with open(vocab_path, encoding="utf-8") as f:
        words = [w.strip() for w in f][2000:6000]
    words = [w for w in words if w.isascii() and not w.startswith("##")]
    texts = tf.constant(_ascii_texts(300, words))
    # Otherwise the comparison below would hold trivially.
    assert tok._takes_fast_path(texts).numpy().all()
    fast, exact = tok.tokenize(texts), tok._tokenize_exact(texts)
    assert _ragged_equal(fast, exact)
    assert (fast.flat_values.numpy() == tok.unk_id).any()  # the long words


def test_mixed_batch_keeps_row_order(minilm_path):
    tok = WordPieceTokenizer(os.path.join(minilm_path, "vocab.txt"), max_length=16)
    texts = [
        "Hello, World!",
        "Café déjà vu",
        "a [SEP] b",  # a special token written in the text goes the exact way
        "tab\tand\nnewline",
        "ctrl\x00chars",
        "",
        "東京 and Zürich",
        "PLAIN ascii 42.",
    ]
    expected_fast = [True, False, False, True, False, True, False, True]
    assert tok._takes_fast_path(tf.constant(texts)).numpy().tolist() == expected_fast
    ids = tok(tf.constant(texts)).numpy()
    one_by_one = np.stack([tok(tf.constant([t])).numpy()[0] for t in texts])
    np.testing.assert_array_equal(ids, one_by_one)
    exact = tok._tokenize_exact(tf.constant(texts))
    assert _ragged_equal(tok.tokenize(tf.constant(texts)), exact)
    np.testing.assert_array_equal(ids[2, :5], [101, 1037, 102, 1038, 102])  # "a [SEP] b"


def test_every_row_on_one_path_and_empty_batch(tiny_bert):
    tok = WordPieceTokenizer(os.path.join(tiny_bert, "vocab.txt"), max_length=6)
    np.testing.assert_array_equal(tok(tf.constant(["the cat", "a dog"])).numpy()[:, :4],
                                  [[2, 5, 6, 3], [2, 11, 7, 3]])  # fmt: skip
    np.testing.assert_array_equal(tok(tf.constant(["东京", "café"])).numpy()[:, :4],
                                  [[2, 24, 25, 3], [2, 17, 3, 0]])  # fmt: skip
    assert tok(tf.constant([], tf.string)).shape == (0, 6)


def test_mixed_batch_in_saved_model_and_tf_data(tiny_bert, tmp_path):
    tok = WordPieceTokenizer(os.path.join(tiny_bert, "vocab.txt"), max_length=6)
    texts = ["东京", "the cat", "café!", "a red dog", "the\x00cat"]
    eager = tok(tf.constant(texts)).numpy()
    module = tf.Module()
    module.tok = tok
    module.serve = tf.function(tok, input_signature=[tf.TensorSpec([None], tf.string)])
    tf.saved_model.save(module, str(tmp_path / "tok"))
    restored = tf.saved_model.load(str(tmp_path / "tok"))
    np.testing.assert_array_equal(restored.serve(tf.constant(texts)).numpy(), eager)
    ds = tf.data.Dataset.from_tensor_slices(texts).batch(3).map(tok)
    np.testing.assert_array_equal(np.concatenate([b.numpy() for b in ds]), eager)
    np.testing.assert_array_equal(eager[:, :4], [[2, 24, 25, 3], [2, 5, 6, 3], [2, 17, 22, 3],
                                                [2, 11, 12, 7], [2, 1, 3, 0]])  # fmt: skip
