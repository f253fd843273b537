"""`WordTokenizer`: lower-cased word tokens mapped to ids by a vocabulary, in TensorFlow ops."""

import collections

import tensorflow as tf

PAD, OOV = "[PAD]", "[UNK]"
START, END = "[START]", "[END]"


class WordTokenizer:
    """Word-level tokenizer built on tensorflow-text, with a vocabulary learned from data.

    Ids: `0` is padding, `1` is out-of-vocabulary, `2..` the vocabulary's words, most frequent
    first (ties broken alphabetically, so the vocabulary does not depend on row order).

    Args:
        vocabulary: list of words for ids 2, 3, ... (without the padding and OOV entries), or
            None until `adapt` is called.
        max_length: int, output sequence length (pad with 0 / truncate).
        split: `"whitespace"`, `"unicode_script"` (also splits punctuation from words) or
            `"character"` (every character is a token, runs of whitespace count as one space:
            robust to typos, at the cost of longer sequences).
        lower_case: bool, case-fold text before splitting.
        start_end: bool, reserve ids 2 and 3 for `[START]` and `[END]` (the first two entries
            of `vocabulary`) and wrap every sequence in them: `[2, word ids..., 3, 0, ...]`,
            words truncated to `max_length - 2`. The caption layout of `Captioner`.

    Example:
    >>> tok = WordTokenizer(max_length=8)
    >>> tok.adapt(["a cat sat", "a dog"], vocab_size=100)
    >>> tok(tf.constant(["a cat ran"]))   # [[2, 4, 1, 0, 0, 0, 0, 0]]
    """

    def __init__(
        self, vocabulary=None, max_length=64, split="whitespace", lower_case=True, start_end=False
    ):
        if start_end and vocabulary is not None and list(vocabulary)[:2] != [START, END]:
            raise ValueError(
                f"WordTokenizer: with start_end=True the vocabulary must start with {START} and "
                f"{END}, received {list(vocabulary)[:2]!r}."
            )
        if start_end and max_length < 3:
            raise ValueError(
                "WordTokenizer: with start_end=True `max_length` must be at least 3, received "
                f"{max_length!r}."
            )
        self.vocabulary = None if vocabulary is None else list(vocabulary)
        self.start_end = start_end
        self.max_length = max_length
        self.split = split
        self.lower_case = lower_case
        self._table = None
        self._splitter = None

    @property
    def vocab_size(self):
        """Number of ids, padding and OOV included."""
        if self.vocabulary is None:
            raise ValueError("WordTokenizer has no vocabulary yet: call `adapt` first.")
        return len(self.vocabulary) + 2

    def tokenize(self, strings):
        """Splits a tf.string `(B,)` into a RaggedTensor of word strings `(B, None)`."""
        import tensorflow_text as tf_text

        if self.lower_case:
            strings = tf_text.case_fold_utf8(strings)
        if self.split == "character":
            strings = tf.strings.strip(tf.strings.regex_replace(strings, r"\s+", " "))
            return tf.strings.unicode_split(strings, "UTF-8")
        if self._splitter is None:
            self._splitter = (
                tf_text.UnicodeScriptTokenizer()
                if self.split == "unicode_script"
                else tf_text.WhitespaceTokenizer()
            )
        return self._splitter.tokenize(strings)

    def adapt(self, texts, vocab_size, min_count=1, chunk=4096):
        """Builds the vocabulary from an iterable of Python strings."""
        texts = list(texts)
        counts = collections.Counter()
        for start in range(0, len(texts), chunk):
            tokens = self.tokenize(tf.constant(texts[start : start + chunk]))
            counts.update(t.decode("utf-8", "replace") for t in tokens.flat_values.numpy())
        words = sorted(
            (w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w)
        )
        if self.start_end:
            self.vocabulary = [START, END, *words[: vocab_size - 4]]
        else:
            self.vocabulary = words[: vocab_size - 2]
        self._table = None

    def _lookup_table(self):
        if self._table is None:
            if self.vocabulary is None:
                raise ValueError("WordTokenizer has no vocabulary yet: call `adapt` first.")
            # Created eagerly even when first needed while tracing a tf.data function, so
            # that every dataset and exported function shares one table.
            # The reserved start / end entries are not words: text never maps to them.
            reserved = 2 if self.start_end else 0
            words = self.vocabulary[reserved:] or ["\0"]
            with tf.init_scope():
                keys = tf.constant(words, tf.string)
                values = tf.range(2 + reserved, len(words) + 2 + reserved, dtype=tf.int64)
                self._table = tf.lookup.StaticHashTable(
                    tf.lookup.KeyValueTensorInitializer(keys, values), default_value=1
                )
        return self._table

    def __call__(self, strings):
        """Maps tf.string `(B,)` to int32 ids `(B, max_length)`."""
        tokens = self.tokenize(strings)
        ids = tf.ragged.map_flat_values(self._lookup_table().lookup, tokens)
        if self.start_end:
            column = tf.ones([ids.nrows(), 1], tf.int64)
            start = tf.RaggedTensor.from_tensor(column * 2)
            end = tf.RaggedTensor.from_tensor(column * 3)
            ids = tf.concat([start, ids[:, : self.max_length - 2], end], axis=1)
        ids = ids.to_tensor(default_value=0, shape=[None, self.max_length])
        return tf.cast(ids, tf.int32)

    def trackables(self):
        """TensorFlow resources an exported function that calls this tokenizer must track."""
        return [self._lookup_table()]

    def save_vocabulary(self, path):
        with open(path, "w", encoding="utf-8") as f:
            for word in [PAD, OOV, *self.vocabulary]:
                f.write(word + "\n")

    @staticmethod
    def load_vocabulary(path):
        with open(path, encoding="utf-8") as f:
            words = f.read().split("\n")
        if words and words[-1] == "":
            words = words[:-1]
        if words[:2] != [PAD, OOV]:
            raise ValueError(f"{path}: a word vocabulary must start with {PAD} and {OOV}.")
        return words[2:]
