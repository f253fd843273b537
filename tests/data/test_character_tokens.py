"""`split="character"`: one token per character, so a typo changes one token, not the word."""

import numpy as np
import tensorflow as tf

import mmkeras as mk
from mmkeras.data.word_tokenizer import WordTokenizer


def test_every_character_is_a_token_and_whitespace_runs_are_one_space():
    tok = WordTokenizer(max_length=12, split="character")
    tok.adapt(["the digit 7", "Zero"], vocab_size=100)
    ids = tok(tf.constant(["  the\tdigit  7 ", "ZERO"])).numpy()
    same = tok(tf.constant(["the digit 7", "zero"])).numpy()
    np.testing.assert_array_equal(ids, same)
    assert (ids[0] > 1).sum() == len("the digit 7")
    assert (ids[1] > 1).sum() == 4  # case-folded like the word tokenizer


def test_a_typo_keeps_the_other_characters_known():
    tok = WordTokenizer(max_length=10, split="character")
    tok.adapt(["seven", "eight"], vocab_size=100)
    words = WordTokenizer(max_length=10)
    words.adapt(["seven", "eight"], vocab_size=100)
    typo = tf.constant(["sevne"])
    assert (tok(typo).numpy() == 1).sum() == 0  # every character is in the vocabulary
    assert words(typo).numpy()[0, 0] == 1  # the word tokenizer sees one unknown word


def test_text_spec_and_config_accept_character_split(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("text,label\nthe digit 1,1\nzro,0\n", encoding="utf-8")
    pipe = mk.data.Pipeline(
        schema={"text": "text", "label": "label"},
        text=mk.data.TextSpec(split="character", max_length=16, vocab_size=50),
    )
    pipe.adapt(str(manifest))
    x, _ = next(iter(pipe.dataset(str(manifest), batch_size=2)))
    assert x["text"].shape == (2, 16)
    assert int((x["text"][1] > 0).numpy().sum()) == 3
    config = mk.config.from_dict(
        {
            "data": {
                "train": str(manifest),
                "schema": {"text": "text", "label": "label"},
                "text": {"split": "character"},
            },
            "model": {
                "branches": {"text": {"kind": "text_rnn"}},
                "task": {"kind": "classification"},
            },
        }
    )
    assert config.data.text.split == "character"
