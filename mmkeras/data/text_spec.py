"""`TextSpec`: how one text input is tokenized."""

from mmkeras.argument_checks import check_choice, check_positive_int

_TOKENIZERS = ("word", "wordpiece")
_SPLITS = ("whitespace", "unicode_script", "character")
_SOURCES = ("column", "file")


class TextSpec:
    """Describes a text input of a `Pipeline`.

    Two tokenizers, both TensorFlow ops (so they run inside `tf.data` and an exported model):

    - `"word"`: lower-cased words split on whitespace or on Unicode script boundaries
      (`split="unicode_script"` also separates punctuation), or single characters
      (`split="character"`, for text with typos). The vocabulary is built by
      `Pipeline.adapt` from the training manifest, most frequent first, capped at `vocab_size`
      ids including `0` = padding and `1` = out-of-vocabulary.
    - `"wordpiece"`: a BERT `vocab.txt` (`vocab=`); ids include `[CLS]`/`[SEP]`, `0` pads.

    Sequences are padded with 0 or truncated to `max_length`. With `start_end=True` (word
    tokenizer only) ids 2 and 3 are reserved for `[START]` and `[END]` and every sequence reads
    `[2, word ids..., 3, 0, ...]`: the caption layout of `mmkeras.models.Captioner` (words are
    truncated to `max_length - 2` so the end token always fits).

    Args:
        tokenizer: `"word"` or `"wordpiece"`.
        max_length: int, length of the token id sequences.
        vocab_size: int, the word vocabulary's size (ignored for WordPiece).
        vocab: path of a WordPiece `vocab.txt` (required for `"wordpiece"`).
        split: `"whitespace"`, `"unicode_script"` or `"character"` (one token per character,
            robust to typos) for the word tokenizer.
        lower_case: bool (word tokenizer) or None (WordPiece: read from `tokenizer_config.json`).
        min_count: int, words seen fewer times than this in `adapt` are left out of the vocabulary.
        source: `"column"` (the manifest cell holds the text) or `"file"` (it holds the path of a
            UTF-8 text file, relative to the pipeline's `root`).
        start_end: bool, wrap every sequence in start (id 2) and end (id 3) tokens.

    Example:
    >>> spec = TextSpec(tokenizer="word", max_length=64, vocab_size=20000)
    >>> bert = TextSpec(tokenizer="wordpiece", vocab="bert/vocab.txt", max_length=128)
    """

    modality = "text"

    def __init__(
        self,
        tokenizer="word",
        max_length=64,
        vocab_size=20000,
        vocab=None,
        split="whitespace",
        lower_case=None,
        min_count=1,
        source="column",
        start_end=False,
    ):
        check_choice("tokenizer", tokenizer, _TOKENIZERS, "TextSpec")
        check_positive_int("max_length", max_length, "TextSpec")
        check_choice("split", split, _SPLITS, "TextSpec")
        check_positive_int("min_count", min_count, "TextSpec")
        check_choice("source", source, _SOURCES, "TextSpec")
        if tokenizer == "word":
            check_positive_int("vocab_size", vocab_size, "TextSpec")
            if vocab_size < 3:
                raise ValueError(
                    "TextSpec: `vocab_size` must be at least 3 (padding, out-of-vocabulary and "
                    f"one word), received {vocab_size!r}."
                )
        if tokenizer == "wordpiece" and not vocab:
            raise ValueError(
                "TextSpec: tokenizer='wordpiece' needs `vocab`, the path of a vocab.txt; "
                f"received vocab={vocab!r}."
            )
        if not isinstance(start_end, bool):
            raise ValueError(f"TextSpec: `start_end` must be a bool, received {start_end!r}.")
        if start_end and tokenizer != "word":
            raise ValueError(
                "TextSpec: `start_end=True` reserves word ids for [START] and [END] and needs "
                f"tokenizer='word', received tokenizer={tokenizer!r}."
            )
        if start_end and (max_length < 3 or vocab_size < 5):
            raise ValueError(
                "TextSpec: with `start_end=True`, `max_length` must be at least 3 and "
                "`vocab_size` at least 5 (padding, out-of-vocabulary, start, end and one word), "
                f"received max_length={max_length!r}, vocab_size={vocab_size!r}."
            )
        if lower_case is not None and not isinstance(lower_case, bool):
            raise ValueError(
                f"TextSpec: `lower_case` must be a bool or None, received {lower_case!r}."
            )
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.vocab_size = vocab_size
        self.vocab = None if vocab is None else str(vocab)
        self.split = split
        self.lower_case = lower_case
        self.min_count = min_count
        self.source = source
        self.start_end = start_end

    @property
    def shape(self):
        return (self.max_length,)

    def get_config(self):
        return {
            "tokenizer": self.tokenizer,
            "max_length": self.max_length,
            "vocab_size": self.vocab_size,
            "vocab": self.vocab,
            "split": self.split,
            "lower_case": self.lower_case,
            "min_count": self.min_count,
            "source": self.source,
            "start_end": self.start_end,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return (
            f"TextSpec(tokenizer={self.tokenizer!r}, max_length={self.max_length}, "
            f"vocab_size={self.vocab_size})"
        )
