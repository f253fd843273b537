"""CLIP's tokenizer in TensorFlow ops: strings -> byte-level BPE ids, as Hugging Face's.

keras-hub's `CLIPTokenizer` runs the BPE merges in TensorFlow, but its TensorFlow path splits
text with GPT-2's pattern and does not lower-case, where CLIP's tokenizer (and keras-hub's
own Python path) normalises (NFC, whitespace runs to one space, lower case) and splits with
CLIP's pattern (letters runs, single digits, punctuation runs, contractions). This layer does
CLIP's normalisation and split itself, in TensorFlow ops, and hands each word to keras-hub's
tokenizer, which on a single word is exact. It runs in `tf.data` and in an exported graph.
"""

import json

import keras

from mmkeras.pretrained.string_tokenizer import (
    StringTokenizer,
    special_token,
    tokenizer_config,
)

START_TOKEN = "<|startoftext|>"
END_TOKEN = "<|endoftext|>"
# Unicode whitespace (Python's and Rust's `\s`): RE2's `\s` is ASCII only.
WHITESPACE = r"[\t-\r\x{85}\p{Z}]+"
# CLIP's pre-tokenizer: its special tokens, contractions, letter runs, single digits, and runs
# of anything else but whitespace.
WORD = r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+"


@keras.saving.register_keras_serializable(package="mmkeras")
class CLIPTokenizer(StringTokenizer):
    """Maps strings to CLIP's BPE ids (without the start and end tokens), in TensorFlow ops.

    Args:
        vocabulary: dict, token -> id (`vocab.json`).
        merges: list of strings, the merge rules (`merges.txt`, one `"a b"` per rule).
        **kwargs: standard layer arguments (`name`, ...).

    Call arguments:
        inputs: a string, or a string tensor / list `(batch,)`.

    Returns:
        An int32 `tf.RaggedTensor` `(batch, None)` of ids (a dense `(None,)` tensor for one
        string). Add the start and end ids and pad them (`spec_arguments` of the CLIP text
        family names them) to get the reference tokenizer's `input_ids`.

    Example:
    >>> vocabulary = {"a</w>": 0, "c": 1, "a": 2, "t</w>": 3, "t": 4, "ca": 5, "cat</w>": 6,
    ...               "<|startoftext|>": 7, "<|endoftext|>": 8}
    >>> tokenizer = CLIPTokenizer(vocabulary, ["c a", "ca t</w>"])
    >>> tokenizer(["A  CAT", "cat"]).to_list()
    [[0, 6], [6]]
    """

    def __init__(self, vocabulary, merges, **kwargs):
        super().__init__(**kwargs)
        import keras_hub

        self.vocabulary = dict(vocabulary)
        self.merges = [m for m in merges if m.strip() and not m.lstrip().startswith("#version")]
        for token in (START_TOKEN, END_TOKEN):
            if token not in self.vocabulary:
                raise ValueError(
                    f"CLIPTokenizer: the vocabulary has no {token!r}; a CLIP vocabulary holds "
                    f"{START_TOKEN!r} and {END_TOKEN!r}."
                )
        self.word_tokenizer = keras_hub.tokenizers.CLIPTokenizer(
            vocabulary=self.vocabulary, merges=self.merges
        )
        self._graph = None

    @classmethod
    def from_source(cls, source):
        """The tokenizer of a `PretrainedSource` (a Hugging Face folder or a keras-hub preset)."""
        if source.format == "keras_hub":
            import keras_hub

            preset = keras_hub.tokenizers.Tokenizer.from_preset(source.location)
            return cls(preset.vocabulary, preset.merges)
        return cls(*_vocabulary_and_merges(source))

    def _tokenize(self, inputs):
        import tensorflow as tf
        import tensorflow_text as tf_text

        text = tf_text.normalize_utf8(inputs, "NFC")
        text = tf.strings.regex_replace(text, WHITESPACE, " ")
        # The reference lower-cases character by character: a capital sigma is always "σ",
        # never the word-final "ς" that TensorFlow's (ICU's) lower-casing writes.
        text = tf.strings.regex_replace(text, "Σ", "σ")
        text = tf.strings.lower(text, encoding="utf-8")
        words = tf_text.regex_split(text, WORD, WORD)
        words = tf.ragged.boolean_mask(words, tf.strings.strip(words) != "")
        flat = words.flat_values
        pieces = self.word_tokenizer(flat)
        pieces = tf.RaggedTensor.from_row_splits(
            pieces.flat_values, tf.gather(pieces.row_splits, words.row_splits)
        )
        return tf.cast(pieces, "int32")

    def _ids(self, inputs):
        import tensorflow as tf

        if not tf.executing_eagerly():
            return self._tokenize(inputs)
        # keras-hub runs its TensorFlow path inside a graph only.
        if self._graph is None:
            self._graph = tf.function(self._tokenize)
        return self._graph(inputs)

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary, "merges": self.merges}


def _vocabulary_and_merges(source):
    vocab_path, merges_path = source.file("vocab.json"), source.file("merges.txt")
    if vocab_path is not None and merges_path is not None:
        with open(vocab_path, encoding="utf-8") as f:
            vocabulary = json.load(f)
        with open(merges_path, encoding="utf-8") as f:
            merges = [line.rstrip("\n") for line in f]
        return vocabulary, merges
    path = source.file("tokenizer.json")
    if path is None:
        raise ValueError(
            f"pretrained source {source.source!r}: the checkpoint has no tokenizer files "
            f"(vocab.json and merges.txt, or tokenizer.json) in {source.location}."
        )
    with open(path, encoding="utf-8") as f:
        model = json.load(f)["model"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return model["vocab"], merges


def clip_special_ids(source):
    """`{"pad_id", "start_id", "end_id"}` of a CLIP checkpoint's tokenizer.

    Hugging Face: the tokens `tokenizer_config.json` / `special_tokens_map.json` name, looked
    up in the vocabulary (the pad token is `<|endoftext|>` in OpenAI's checkpoints, `!` in
    some others). keras-hub: its tokenizer's ids.
    """
    if source.format == "keras_hub":
        import keras_hub

        preset = keras_hub.tokenizers.Tokenizer.from_preset(source.location)
        return {
            "pad_id": int(preset.pad_token_id),
            "start_id": int(preset.start_token_id),
            "end_id": int(preset.end_token_id),
        }
    vocabulary, _ = _vocabulary_and_merges(source)
    config = tokenizer_config(source)
    start = special_token(config, "bos_token") or START_TOKEN
    end = special_token(config, "eos_token") or END_TOKEN
    pad = special_token(config, "pad_token") or end
    ids = {}
    for key, token in (("pad_id", pad), ("start_id", start), ("end_id", end)):
        if token not in vocabulary:
            raise ValueError(
                f"pretrained source {source.source!r}: the tokenizer's {key[:-3]} token "
                f"{token!r} is not in its vocabulary."
            )
        ids[key] = int(vocabulary[token])
    return ids


__all__ = ["CLIPTokenizer", "clip_special_ids"]
