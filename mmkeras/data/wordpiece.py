"""WordPiece tokenization of BERT checkpoints, written in TensorFlow ops.

`WordPieceTokenizer` turns a batch of strings into the fixed-length id tensor that
`mmkeras.branches.text_bert.text_bert` takes. Every step is a TensorFlow (or tensorflow-text) op, so
the same object runs eagerly, inside `tf.data.Dataset.map`, inside a `tf.function` and inside an
exported SavedModel.

The text rules are those of the Hugging Face BERT tokenizer (the `tokenizers` library's
`BertNormalizer`, `BertPreTokenizer` and `WordPiece` model), so ids match a checkpoint's reference
tokenizer:

1. invalid UTF-8 becomes U+FFFD; NUL, U+FFFD and control / format / private-use characters
   (Unicode category C, except tab, newline and carriage return) are removed; every whitespace
   character becomes a space;
2. the checkpoint's special tokens written in the text (`"[SEP]"`, `"[MASK]"`, case-sensitive)
   are kept as those tokens;
3. accents are stripped (NFD, then non-spacing marks removed) when `strip_accents` is true, or when
   it is unset and `lower_case` is true;
4. text is lowercased character by character (no context-dependent final sigma);
5. words are split on spaces, on punctuation (Unicode category P and all ASCII punctuation, each
   a word of its own) and around CJK ideographs (each a word);
6. each word is split into the longest vocabulary pieces, continuation pieces prefixed with `##`; a
   word that cannot be split, or is longer than 100 characters, becomes `[UNK]`.

Steps 1-4 are regular-expression and Unicode ops; steps 5-6 are tensorflow-text's
`FastBertTokenizer` (its own normaliser off), which splits exactly as the reference on normalised
text. Known differences, all rare: characters added to Unicode after the reference's tables (a few
hundred recent code points) may be classified differently, and a special token interrupted by a
control character (`"[SE\\x00P]"`) is recognised here but not by the reference.
"""

import json
import os
import re

import tensorflow as tf

# Whitespace as the reference sees it (the Unicode White_Space property), minus the White_Space
# characters of category C (vertical tab, form feed, U+0085...), which the reference removes.
_WHITESPACE_CLASS = (
    "[\\t\\n\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}]"
)
_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)
# Characters that are words of their own: punctuation (Unicode category P and all ASCII
# punctuation) and CJK ideographs.
_SPLIT_CLASS = (
    "[\\p{P}!-/:-@\\[-`{-~"
    + "".join(f"\\x{{{lo:X}}}-\\x{{{hi:X}}}" for lo, hi in _CJK_RANGES)
    + "]"
)
_MAX_CHARS_PER_WORD = 100
# First code point of the private-use plane that stands for special tokens inside the pipeline.
_SENTINEL_BASE = 0xF0000


def _read_json(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _read_vocab(vocab_path):
    if not os.path.isfile(vocab_path):
        raise FileNotFoundError(
            f"WordPieceTokenizer: vocabulary file not found: {vocab_path!r}. Expected the "
            "`vocab.txt` of a Hugging Face BERT checkpoint directory (one token per line)."
        )
    with open(vocab_path, encoding="utf-8") as f:
        vocab = [line.rstrip("\r\n") for line in f]
    while vocab and vocab[-1] == "":
        vocab.pop()
    if not vocab:
        raise ValueError(f"WordPieceTokenizer: vocabulary file {vocab_path!r} is empty.")
    return vocab


def _checkpoint_text_rules(directory):
    """Returns (lower_case, strip_accents, split_cjk, special tokens) stored beside the vocabulary."""
    rules = {"do_lower_case": True, "strip_accents": None, "tokenize_chinese_chars": True}
    special = {"unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "pad": "[PAD]"}
    tokenizer_json = _read_json(os.path.join(directory, "tokenizer.json")) or {}
    normalizer = tokenizer_json.get("normalizer") or {}
    if normalizer.get("type") == "BertNormalizer":
        rules["do_lower_case"] = normalizer.get("lowercase", True)
        rules["strip_accents"] = normalizer.get("strip_accents")
        rules["tokenize_chinese_chars"] = normalizer.get("handle_chinese_chars", True)
    config = _read_json(os.path.join(directory, "tokenizer_config.json")) or {}
    for key in rules:
        if key in config:
            rules[key] = config[key]
    for key in special:
        value = config.get(f"{key}_token")
        if isinstance(value, dict):
            value = value.get("content")
        if isinstance(value, str):
            special[key] = value
    added = [
        t["content"]
        for t in tokenizer_json.get("added_tokens") or []
        if t.get("special") and not t.get("normalized", True)
    ]
    literal = added or [*special.values(), config.get("mask_token") or "[MASK]"]
    return rules, special, [t for t in literal if isinstance(t, str) and t]


def _as_bool_or_none(name, value):
    if value is None or isinstance(value, bool):
        return value
    raise ValueError(
        f"WordPieceTokenizer: `{name}` must be True, False or None; received {value!r}."
    )


class WordPieceTokenizer(tf.Module):
    """Tokenizes strings into padded BERT WordPiece ids, in the TensorFlow graph.

    Args:
        vocab_path: path of a checkpoint's `vocab.txt` (one token per line, id = line number).
        lower_case: bool, lowercase the text. None reads `do_lower_case` from the
            `tokenizer_config.json` (or `tokenizer.json`) beside the vocabulary; without one,
            True (the BERT default).
        strip_accents: bool, remove accents. None reads `strip_accents` from the same file; when that
            is unset too, accents are stripped exactly when the text is lowercased (the BERT rule).
        max_length: int >= 2, length of each output row: `[CLS]`, up to `max_length - 2` tokens
            (longer texts are truncated so `[SEP]` is kept), `[SEP]`, then `[PAD]`.

    Call arguments:
        strings: tf.string tensor `(batch,)` (or a scalar string, giving `(max_length,)`).

    Returns:
        int32 tensor `(batch, max_length)`.

    Example:
    >>> tok = WordPieceTokenizer("bert_dir/vocab.txt", max_length=16)
    >>> ids = tok(tf.constant(["Hello, world!"]))        # (1, 16) int32
    >>> ds = ds.map(lambda text, y: (tok(text), y))      # runs inside tf.data
    """

    def __init__(self, vocab_path, lower_case=None, strip_accents=None, max_length=128):
        super().__init__(name="wordpiece_tokenizer")
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 2:
            raise ValueError(
                "WordPieceTokenizer: `max_length` must be an int >= 2 (room for [CLS] and [SEP]); "
                f"received {max_length!r}."
            )
        lower_case = _as_bool_or_none("lower_case", lower_case)
        strip_accents = _as_bool_or_none("strip_accents", strip_accents)
        self.vocab_path = os.fspath(vocab_path)
        self.lower_case = lower_case
        self.strip_accents = strip_accents
        self.max_length = max_length

        vocab = _read_vocab(self.vocab_path)
        rules, special, literal = _checkpoint_text_rules(
            os.path.dirname(os.path.abspath(self.vocab_path))
        )
        self._lower = rules["do_lower_case"] if lower_case is None else lower_case
        accents = rules["strip_accents"] if strip_accents is None else strip_accents
        self._strip_accents = self._lower if accents is None else bool(accents)
        if not rules["tokenize_chinese_chars"]:
            raise ValueError(
                "WordPieceTokenizer: tokenize_chinese_chars=false in the checkpoint's tokenizer "
                "files is not supported (CJK characters are always split, the BERT rule)."
            )

        index = {}
        for i, token in enumerate(vocab):
            index.setdefault(token, i)
        missing = [t for t in special.values() if t not in index]
        if missing:
            raise ValueError(
                f"WordPieceTokenizer: special tokens {missing} are not in the vocabulary "
                f"{self.vocab_path!r}; a BERT vocabulary needs {sorted(special.values())}."
            )
        # Longest first, so that one special token that is a prefix of another does not win.
        literal = sorted((t for t in set(literal) if t in index), key=len, reverse=True)
        self._special_tokens = literal
        self._unk_token = special["unk"]
        self.cls_id = index[special["cls"]]
        self.sep_id = index[special["sep"]]
        self.pad_id = index[special["pad"]]
        self.unk_id = index[self._unk_token]
        self.vocab_size = len(vocab)

        import tensorflow_text as tf_text

        # Special tokens written in the text become private-use characters (which cleaning has
        # removed from the text itself), each a word of its own that maps to the special id.
        # One more private-use character stands for the [UNK] of an over-long word.
        self._sentinels = [chr(_SENTINEL_BASE + k) for k in range(len(literal) + 1)]
        self._fast_bert = tf_text.FastBertTokenizer(
            vocab=vocab + self._sentinels,
            suffix_indicator="##",
            max_bytes_per_word=4 * _MAX_CHARS_PER_WORD,
            token_out_type="int32",
            unknown_token=self._unk_token,
            support_detokenization=False,
            lower_case_nfd_strip_accents=False,
        )
        self._id_map = tf.constant(
            list(range(len(vocab))) + [index[t] for t in literal] + [self.unk_id], dtype=tf.int32
        )

    def normalize(self, strings):
        """Applies the text-cleaning rules (steps 1-4 of the module docstring) to a string tensor."""
        import tensorflow_text as tf_text

        text = tf.strings.unicode_transcode(
            strings,
            input_encoding="UTF-8",
            output_encoding="UTF-8",
            errors="replace",
            replacement_char=0xFFFD,
        )
        # Tab, newline and carriage return are whitespace, not control characters: they are in
        # the whitespace class, so replacing them first keeps them out of the category-C removal.
        text = tf.strings.regex_replace(text, _WHITESPACE_CLASS, " ")
        text = tf.strings.regex_replace(text, "[\\p{C}\\x{FFFD}]", "")
        for literal, sentinel in zip(self._special_tokens, self._sentinels[:-1], strict=True):
            text = tf.strings.regex_replace(text, re.escape(literal), f" {sentinel} ")
        if self._strip_accents:
            text = tf_text.normalize_utf8(text, "NFD")
            text = tf.strings.regex_replace(text, "\\p{Mn}", "")
        if self._lower:
            # ICU lowercases a word-final capital sigma to "ς"; the reference maps every "Σ" to "σ".
            text = tf.strings.regex_replace(text, "Σ", "σ")
            text = tf.strings.lower(text, encoding="utf-8")
        return text

    def tokenize(self, strings):
        """Returns the WordPiece ids without special tokens or padding, ragged `(batch, None)`."""
        normalized = self._mark_long_words(self.normalize(strings))
        ids = self._fast_bert.tokenize(normalized)
        return ids.with_flat_values(tf.gather(self._id_map, ids.flat_values))

    def _mark_long_words(self, normalized):
        """Replaces each word of more than 100 characters by the sentinel of [UNK]."""
        # Space-separated runs bound the words from above, so only the (rare) texts holding a
        # long run are split into words here; the others pass through untouched.
        runs = tf.strings.split(normalized, sep=" ")
        run_chars = tf.strings.length(runs, unit="UTF8_CHAR")
        suspect = tf.where(tf.reduce_any(run_chars > _MAX_CHARS_PER_WORD, axis=1))
        # A static regex_replace (compiled once) rather than regex_split, which compiles its
        # pattern on every call.
        spaced = tf.strings.regex_replace(
            tf.gather_nd(normalized, suspect), "(" + _SPLIT_CLASS + ")", " \\1 "
        )
        words = tf.strings.split(spaced, sep=" ")
        flat = words.flat_values
        too_long = tf.strings.length(flat, unit="UTF8_CHAR") > _MAX_CHARS_PER_WORD
        flat = tf.where(too_long, tf.constant(self._sentinels[-1]), flat)
        # Joining the padded dense form is much faster than a ragged join; the extra spaces it
        # leaves are ignored by the word split.
        fixed = tf.strings.reduce_join(
            words.with_flat_values(flat).to_tensor(default_value=""), axis=1, separator=" "
        )
        return tf.tensor_scatter_nd_update(normalized, suspect, fixed)

    def __call__(self, strings):
        strings = tf.convert_to_tensor(strings, dtype=tf.string)
        scalar = strings.shape.rank == 0
        if scalar:
            strings = tf.reshape(strings, [1])
        ids = self.tokenize(strings)[:, : self.max_length - 2]
        batch = tf.shape(strings, out_type=tf.int64)[0]
        cls = tf.fill([batch, 1], tf.constant(self.cls_id, tf.int32))
        sep = tf.fill([batch, 1], tf.constant(self.sep_id, tf.int32))
        ids = tf.concat([cls, ids, sep], axis=1)
        dense = ids.to_tensor(default_value=self.pad_id, shape=[None, self.max_length])
        return dense[0] if scalar else dense

    def get_config(self):
        return {
            "vocab_path": self.vocab_path,
            "lower_case": self.lower_case,
            "strip_accents": self.strip_accents,
            "max_length": self.max_length,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


__all__ = ["WordPieceTokenizer"]
