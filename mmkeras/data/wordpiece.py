"""WordPiece tokenization of BERT checkpoints, written in TensorFlow ops.

`WordPieceTokenizer` turns a batch of strings into the fixed-length id tensor that
`mmkeras.branches.text_bert_branch.text_bert` takes. Every step is a TensorFlow (or tensorflow-text) op, so
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
text.

Fast path: a text of printable ASCII, tab, newline and carriage return only, without the first
character of a special token (`"["`), needs none of steps 1-3, and lowercasing is ASCII
lowercasing; such rows go straight to a second `FastBertTokenizer` whose byte limit per word (100)
is the character limit, since a byte is a character there. The batch is split by a regular-
expression match, both groups are tokenized and the rows are put back in order; the ids are those
of the full rules.

Known differences from the reference, all rare: characters added to Unicode after the reference's
tables (a few hundred recent code points) may be classified differently, and a special token
interrupted by a control character (`"[SE\\x00P]"`) is recognised here but not by the reference.
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
        # The fast path: on printable ASCII (plus tab, newline, carriage return) the cleaning
        # rules reduce to ASCII lowercasing (no control, format or non-ASCII space characters to
        # remove or replace, no accents), and a byte is a character, so a byte limit per word of
        # 100 is the reference's character limit. Texts holding the first character of a special
        # token go the exact way, since special tokens must be recognised before lowercasing.
        openers = {t[0] for t in literal if t[0].isascii()}
        allowed = [9, 10, 13, *(c for c in range(0x20, 0x7F) if chr(c) not in openers)]
        self._fast_pattern = "[" + "".join(f"\\x{{{c:X}}}" for c in allowed) + "]*"
        self._fast_ascii_bert = tf_text.FastBertTokenizer(
            vocab=vocab,
            suffix_indicator="##",
            max_bytes_per_word=_MAX_CHARS_PER_WORD,
            token_out_type="int32",
            unknown_token=self._unk_token,
            support_detokenization=False,
            lower_case_nfd_strip_accents=False,
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
        rows, ids = self._tokenize_groups(strings)
        order = tf.math.invert_permutation(tf.concat(rows, axis=0))
        return tf.gather(tf.concat(ids, axis=0), order)

    def _tokenize_groups(self, strings):
        """Splits the batch into the fast-path rows and the others; returns (rows, ids) pairs.

        Both groups always run (an empty group costs next to nothing): a `tf.cond` around the
        tokenizers is much slower inside tf.data than the ops it would skip.
        """
        fast = self._takes_fast_path(strings)
        fast_rows = tf.where(fast)[:, 0]
        exact_rows = tf.where(tf.logical_not(fast))[:, 0]
        fast_text = tf.gather(strings, fast_rows)
        if self._lower:
            fast_text = tf.strings.lower(fast_text)  # ASCII letters only, all there is here
        fast_ids = self._fast_ascii_bert.tokenize(fast_text)
        exact_ids = self._tokenize_exact(tf.gather(strings, exact_rows))
        return (fast_rows, exact_rows), (fast_ids, exact_ids)

    def _takes_fast_path(self, strings):
        """Bool `(batch,)`: the strings whose ids the ASCII fast path gives exactly."""
        return tf.strings.regex_full_match(strings, self._fast_pattern)

    def _tokenize_exact(self, strings):
        """`tokenize` through the full cleaning rules, for any text."""
        normalized = self._mark_long_words(self.normalize(strings))
        ids = self._fast_bert.tokenize(normalized)
        return ids.with_flat_values(tf.gather(self._id_map, ids.flat_values))

    def _mark_long_words(self, normalized):
        """Replaces each word of more than 100 characters by the sentinel of [UNK]."""
        # Space-separated runs bound the words from above, so only the (rare) texts holding a
        # long run are split into words here; the others pass through untouched.
        runs = tf.strings.split(normalized, sep=" ")
        long_run = tf.strings.length(runs.flat_values, unit="UTF8_CHAR") > _MAX_CHARS_PER_WORD
        # A segment maximum rather than a ragged `reduce_any`, whose fixed cost per batch
        # (even an empty one) is several times that of the whole fast path.
        has_long_run = tf.math.unsorted_segment_max(
            tf.cast(long_run, tf.int32), runs.value_rowids(), runs.nrows()
        )
        suspect = tf.where(has_long_run > 0)
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
        rows, ids = self._tokenize_groups(strings)
        # Each group is padded on its own and the dense rows are put back in order: cheaper than
        # ragged concatenation, slicing and gathering.
        dense = tf.gather(
            tf.concat([self._pad(group) for group in ids], axis=0),
            tf.math.invert_permutation(tf.concat(rows, axis=0)),
        )
        return dense[0] if scalar else dense

    def _pad(self, ids):
        """Ragged ids to `(batch, max_length)`: [CLS], ids truncated, [SEP], [PAD]..."""
        body_length = self.max_length - 2
        body = ids.to_tensor(default_value=self.pad_id, shape=[None, body_length])
        batch = tf.shape(body)[0]
        dense = tf.concat(
            [
                tf.fill([batch, 1], tf.constant(self.cls_id, tf.int32)),
                body,
                tf.fill([batch, 1], tf.constant(self.pad_id, tf.int32)),
            ],
            axis=1,
        )
        sep_at = tf.minimum(ids.row_lengths(), body_length) + 1
        positions = tf.range(self.max_length, dtype=sep_at.dtype)
        return tf.where(positions[None, :] == sep_at[:, None], self.sep_id, dense)

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
