"""`TextSpec`: how one text input is tokenized."""

import os
import shutil

import tensorflow as tf

from mmkeras import compat
from mmkeras.argument_checks import check_bool, check_choice, check_positive_int
from mmkeras.atomic_files import atomic_path
from mmkeras.data.spec import Spec
from mmkeras.data.word_tokenizer import WordTokenizer

_TOKENIZERS = ("word", "wordpiece", "pretrained")
_SPLITS = ("whitespace", "unicode_script", "character")
_SOURCES = ("column", "file")


class TextSpec(Spec):
    """Describes a text input of a `Pipeline`.

    Two tokenizers, both TensorFlow ops (so they run inside `tf.data` and an exported model):

    - `"word"`: lower-cased words split on whitespace or on Unicode script boundaries
      (`split="unicode_script"` also separates punctuation), or single characters
      (`split="character"`, for text with typos). The vocabulary is built by
      `Pipeline.adapt` from the training manifest, most frequent first, capped at `vocab_size`
      ids including `0` = padding and `1` = out-of-vocabulary.
    - `"wordpiece"`: a BERT `vocab.txt` (`vocab=`); ids include `[CLS]`/`[SEP]`, `0` pads.
    - `"pretrained"`: the own tokenizer of a pretrained checkpoint (`vocab=` a keras-hub preset
      name, `"hf://org/name"` or a local folder; see `TextSpec.from_pretrained`): the ids and
      padding a `mk.branches.pretrained` text branch of that checkpoint expects.

    Sequences are padded with 0 or truncated to `max_length`. With `start_end=True` (word
    tokenizer only) ids 2 and 3 are reserved for `[START]` and `[END]` and every sequence reads
    `[2, word ids..., 3, 0, ...]`: the caption layout of `mmkeras.models.Captioner` (words are
    truncated to `max_length - 2` so the end token always fits).

    Args:
        tokenizer: `"word"`, `"wordpiece"` or `"pretrained"`.
        max_length: int, length of the token id sequences.
        vocab_size: int, the word vocabulary's size (ignored for WordPiece).
        vocab: path of a WordPiece `vocab.txt` (required for `"wordpiece"`), or the checkpoint
            (required for `"pretrained"`).
        split: `"whitespace"`, `"unicode_script"` or `"character"` (one token per character,
            robust to typos) for the word tokenizer.
        lower_case: bool (word tokenizer) or None (WordPiece: read from `tokenizer_config.json`).
        min_count: int, words seen fewer times than this in `adapt` are left out of the vocabulary.
        source: `"column"` (the manifest cell holds the text) or `"file"` (it holds the path of a
            UTF-8 text file, relative to the pipeline's `root`).
        start_end: bool, wrap every sequence in start (id 2) and end (id 3) tokens.
        allow_empty: bool, an empty or whitespace-only text (or text file, or cell) is valid
            text: it tokenizes to no tokens (all padding, with the tokenizer's own special
            tokens), is never a bad row and never marks the input absent, in training and in
            an exported model. False (default): it is a bad row (`text_empty`), or marks the
            input absent with `allow_missing=True`.

    Example:
    >>> words = TextSpec(tokenizer="word", max_length=64, vocab_size=20000)
    >>> bert = TextSpec(tokenizer="wordpiece", vocab="bert/vocab.txt", max_length=128)
    """

    modality = "text"
    empty_reason = "text_empty"
    dtype = "int32"

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
        allow_empty=False,
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
        if tokenizer == "pretrained" and not vocab:
            raise ValueError(
                "TextSpec: tokenizer='pretrained' needs `vocab`, the checkpoint (a keras-hub "
                f"preset name, 'hf://org/name' or a local folder); received vocab={vocab!r}."
            )
        check_bool("start_end", start_end, "TextSpec")
        check_bool("allow_empty", allow_empty, "TextSpec")
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
        self.allow_empty = allow_empty
        self.reset_state()

    @classmethod
    def from_pretrained(cls, source, max_length=128, **kwargs):
        """A `TextSpec` that tokenizes as the checkpoint `source` does.

        The ids, special tokens and pad id are the checkpoint's own, as a
        `mk.branches.pretrained(source)` text branch expects them.

        Args:
            source: a keras-hub preset name, `"hf://org/name"` or a local checkpoint folder.
            max_length: int, the length of every id sequence (special tokens included).
            **kwargs: other `TextSpec` arguments (`source="file"` for text files).

        Example:
        >>> spec = TextSpec.from_pretrained("roberta", max_length=8)  # a local RoBERTa folder
        >>> spec.text_tokenizer(["a small dog"]).numpy()  # <s> ... </s>, then <pad> = 1
        array([[  0,  68, 404, 341,   2,   1,   1,   1]], dtype=int32)
        """
        from mmkeras.pretrained.family import family_for
        from mmkeras.pretrained.sources import resolve_source

        family_for(resolve_source(source), "text")  # a checkpoint without a text encoder fails here
        return cls(tokenizer="pretrained", vocab=str(source), max_length=max_length, **kwargs)

    @property
    def empty_is_valid(self):
        return self.allow_empty

    @property
    def shape(self):
        """Shape of one token id sequence: `(max_length,)`."""
        return (self.max_length,)

    # === State ===

    def reset_state(self):
        self._tokenizer = None

    @property
    def adapted(self):
        return self.tokenizer != "word" or self._tokenizer is not None

    @property
    def text_tokenizer(self):
        """The tokenizer (a `WordTokenizer` once adapted, or a WordPiece tokenizer), or None."""
        if self._tokenizer is None and self.tokenizer == "wordpiece":
            from mmkeras.data.wordpiece import WordPieceTokenizer

            self._tokenizer = WordPieceTokenizer(
                self.vocab, lower_case=self.lower_case, max_length=self.max_length
            )
        if self._tokenizer is None and self.tokenizer == "pretrained":
            from mmkeras.pretrained.text_ids import PretrainedTokenizer

            self._tokenizer = PretrainedTokenizer(self.vocab, self.max_length)
        return self._tokenizer

    def _word_tokenizer(self, vocabulary=None):
        return WordTokenizer(
            vocabulary,
            max_length=self.max_length,
            split=self.split,
            lower_case=True if self.lower_case is None else self.lower_case,
            start_end=self.start_end,
        )

    def adapt(self, values, name):
        """Builds the word vocabulary from the training texts (WordPiece has its own)."""
        if self.tokenizer != "word":
            return
        texts = []
        for raw in values:
            if self.source == "file" and raw:
                with open(raw, encoding="utf-8") as f:
                    raw = f.read()
            texts.append(raw)
        tok = self._word_tokenizer()
        tok.adapt(texts, self.vocab_size, self.min_count)
        self._tokenizer = tok

    def trackables(self):
        tok = self.text_tokenizer
        if tok is None:
            return []
        if hasattr(tok, "trackables"):
            return list(tok.trackables())
        return [tok] if compat.is_trackable(tok) else []

    # === Row checks ===

    @property
    def reads_file(self):
        return self.source == "file"

    def check_value(self, value):
        text = str(value)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            detail = "the text is not valid UTF-8 (is the manifest saved as UTF-8?)"
            return None, 0, ("text_not_utf8", detail, None)
        if not text.strip() and not self.allow_empty:
            return None, 0, ("text_empty", "the text is only whitespace", None)
        return text, 0, None

    def check_file(self, path, context):
        with open(path, "rb") as f:
            data = f.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None, 0, ("text_not_utf8", "the text file is not valid UTF-8", path)
        if not text.strip() and not self.allow_empty:
            return None, 0, ("text_empty", "the text file is empty", path)
        return path, len(data), None

    def is_absent(self, raw):
        return raw == "" and not self.allow_empty

    # === Decoding ===

    def decode_batch(self, x):
        present = tf.strings.length(x) > 0
        if self.allow_empty:
            present = tf.ones_like(present)
        return self.text_tokenizer(x), present

    # === Saving ===

    def save_assets(self, folder, name):
        """Writes the word vocabulary, or copies the WordPiece files, into `folder`."""
        config = self.get_config()
        if self.tokenizer == "word":
            if self._tokenizer is None:
                return config, {}
            filename = f"vocab_{name}.txt"
            with atomic_path(os.path.join(folder, filename)) as tmp:
                self._tokenizer.save_vocabulary(tmp)
            return config, {"vocabularies": filename}
        if self.tokenizer == "pretrained":
            # The checkpoint's tokenizer files (no weights) are copied in.
            subfolder = f"pretrained_{name}"
            self.text_tokenizer.save_files(os.path.join(folder, subfolder))
            config["vocab"] = subfolder
            return config, {}
        # WordPiece files are copied in, so the saved folder is self-contained.
        subfolder = f"wordpiece_{name}"
        os.makedirs(os.path.join(folder, subfolder), exist_ok=True)
        source_dir = os.path.dirname(os.path.abspath(self.vocab))
        for filename in ("vocab.txt", "tokenizer_config.json"):
            src = self.vocab if filename == "vocab.txt" else os.path.join(source_dir, filename)
            if os.path.isfile(src):
                dst = os.path.join(folder, subfolder, filename)
                with atomic_path(dst) as tmp:
                    shutil.copyfile(src, tmp)
        config["vocab"] = os.path.join(subfolder, "vocab.txt")
        return config, {}

    @classmethod
    def from_saved_config(cls, config, folder):
        config = dict(config)
        if config.get("tokenizer") in ("wordpiece", "pretrained"):
            config["vocab"] = os.path.join(folder, config["vocab"])
        return cls.from_config(config)

    def load_state(self, state, folder):
        if "vocabularies" in state:
            path = os.path.join(folder, state["vocabularies"])
            self._tokenizer = self._word_tokenizer(WordTokenizer.load_vocabulary(path))

    # === Config ===

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
            "allow_empty": self.allow_empty,
        }

    def __repr__(self):
        return (
            f"TextSpec(tokenizer={self.tokenizer!r}, max_length={self.max_length}, "
            f"vocab_size={self.vocab_size})"
        )
