"""SigLIP's tokenizer in TensorFlow ops: strings -> SentencePiece ids, as Hugging Face's.

Hugging Face's `SiglipTokenizer` does more than run SentencePiece, and keras-hub's
`SigLIPTokenizer` (SentencePiece alone) gives other ids for most texts. Its steps, reproduced
here in TensorFlow ops:

1. `"▁"` is put before the text (a literal `"▁"` in it becomes a space), and the text is cut
   at its special tokens (`</s>`, `<unk>`, and any the tokenizer config adds), which map to
   their ids directly;
2. every other piece is canonicalised (lower-cased, ASCII punctuation removed, whitespace
   runs made one space, stripped) and encoded as SentencePiece encodes `"<unk>" + piece`, less
   the pieces of `"<unk>"` alone (so a piece after a special token gets no word-start mark);
3. a leading `"▁"` piece followed by a special token is dropped.

The end token `</s>` is not added here (the reference adds it unless the text already ends
with it: a trailing `</s>` is dropped here, so that adding one always gives the reference's
ids).
"""

import keras

from mmkeras.pretrained.string_tokenizer import (
    StringTokenizer,
    special_token,
    tokenizer_config,
)

UNDERLINE = "\u2581"
# `string.punctuation`, as a character class.
PUNCTUATION = r"[!-/:-@\[-`{-~]"
# What Python's `\s` matches in a `str` (RE2's `\s` is ASCII only).
WHITESPACE = r"[\t-\r\x{1c}-\x{20}\x{85}\p{Z}]+"


def _table(mapping):
    import tensorflow as tf

    keys = tf.constant(list(mapping), dtype=tf.string)
    values = tf.constant(list(mapping.values()), dtype=tf.int32)
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(keys, values), default_value=-1
    )


def _escape(token):
    import re

    return re.escape(token)


@keras.saving.register_keras_serializable(package="mmkeras")
class SigLIPTokenizer(StringTokenizer):
    """Maps strings to SigLIP's SentencePiece ids (without the end token), in TensorFlow ops.

    Args:
        proto: bytes, the SentencePiece model (`spiece.model`).
        special_tokens: dict, special token -> id (`</s>`, `<unk>`, ...), cut out of the text
            before it is encoded.
        unknown_token: str, the token whose pieces prefix every encoded piece (`"<unk>"`).
        end_id: int, the end token's id (a trailing one is dropped).
        lowercase: bool, whether the text is lower-cased (the config's `do_lower_case`).
        **kwargs: standard layer arguments (`name`, ...).

    Call arguments:
        inputs: a string, or a string tensor / list `(batch,)`.

    Returns:
        An int32 `tf.RaggedTensor` `(batch, None)` of ids (a dense `(None,)` tensor for one
        string); append the end id and pad with the pad id (both `</s>` in Google's
        checkpoints) to get the reference's `input_ids`.
    """

    def __init__(self, proto, special_tokens, unknown_token, end_id, lowercase=True, **kwargs):
        super().__init__(**kwargs)
        if isinstance(proto, str):
            proto = proto.encode("latin-1")
        self.proto = bytes(proto)
        self.special_tokens = {str(k): int(v) for k, v in special_tokens.items()}
        self.unknown_token = unknown_token
        self.end_id = int(end_id)
        self.lowercase = bool(lowercase)
        self._load_sentencepiece()
        self.prefix_length = int(self.sentencepiece.tokenize(unknown_token).shape[0])
        self.underline_id = int(self.sentencepiece.string_to_id(UNDERLINE))
        # Longest first: the alternation takes the first that matches.
        tokens = sorted(self.special_tokens, key=len, reverse=True)
        self.special_pattern = "|".join(_escape(token) for token in tokens)
        self.special_ids = _table(self.special_tokens)

    def _load_sentencepiece(self):
        import tensorflow_text as tf_text

        self.sentencepiece = tf_text.SentencepieceTokenizer(model=self.proto, out_type="int32")

    @classmethod
    def from_source(cls, source):
        """The tokenizer of a `PretrainedSource` (a Hugging Face folder or a keras-hub preset)."""
        if source.format == "keras_hub":
            import keras_hub

            preset = keras_hub.tokenizers.Tokenizer.from_preset(source.location)
            specials = {
                token: int(preset.token_to_id(token))
                for token in ("</s>", "<unk>")
                if token in preset.get_vocabulary()
            }
            return cls(preset.proto, specials, "<unk>", int(preset.end_token_id))
        return cls(**siglip_tokenizer_arguments(source))

    def _canonical(self, text):
        import tensorflow as tf

        if self.lowercase:
            text = tf.strings.lower(text, encoding="utf-8")
        text = tf.strings.regex_replace(text, PUNCTUATION, "")
        text = tf.strings.regex_replace(text, WHITESPACE, " ")
        return tf.strings.regex_replace(text, "^ | $", "")

    def _tokenize(self, inputs):
        import tensorflow as tf
        import tensorflow_text as tf_text

        text = tf.strings.join([UNDERLINE, tf.strings.regex_replace(inputs, UNDERLINE, " ")])
        pieces = tf_text.regex_split(text, self.special_pattern, self.special_pattern)
        flat = pieces.flat_values
        is_special = tf.strings.regex_full_match(flat, self.special_pattern)
        encoded = self.sentencepiece.tokenize(
            tf.strings.join([self.unknown_token, self._canonical(flat)])
        )[:, self.prefix_length :]
        keep = tf.repeat(tf.logical_not(is_special), encoded.row_lengths())
        encoded = tf.ragged.boolean_mask(encoded, encoded.with_flat_values(keep))
        special_ids = self.special_ids.lookup(flat)[:, None]
        special = tf.ragged.boolean_mask(
            tf.RaggedTensor.from_tensor(special_ids), is_special[:, None]
        )
        # One of the two is empty for each piece.
        ids = tf.concat([special, encoded], axis=1)
        from_special = tf.concat(
            [tf.ones_like(special, dtype=tf.bool), tf.zeros_like(encoded, dtype=tf.bool)], axis=1
        )
        splits = tf.gather(ids.row_splits, pieces.row_splits)
        ids = tf.RaggedTensor.from_row_splits(ids.flat_values, splits)
        from_special = tf.RaggedTensor.from_row_splits(from_special.flat_values, splits)
        # A leading word-start mark before a special token is dropped, and a trailing end token
        # (the end token is added once, after truncation).
        padded_ids = ids.to_tensor(default_value=-1, shape=[None, 2])
        padded_special = from_special.to_tensor(default_value=False, shape=[None, 2])
        drop_first = (padded_ids[:, 0] == self.underline_id) & padded_special[:, 1]
        lengths = ids.row_lengths()
        position = tf.ragged.range(lengths).flat_values
        last = tf.repeat(lengths - 1, lengths)
        first_row = tf.repeat(drop_first, lengths)
        is_end = tf.equal(ids.flat_values, self.end_id) & tf.equal(position, last)
        keep = tf.logical_not((first_row & tf.equal(position, 0)) | is_end)
        return tf.ragged.boolean_mask(ids, ids.with_flat_values(keep))

    def _ids(self, inputs):
        import tensorflow as tf

        try:
            return self._tokenize(inputs)
        except tf.errors.NotFoundError:
            if not tf.executing_eagerly():
                raise
            # TensorFlow Text's SentencePiece model lives in an eager kernel, which
            # `tf.random.set_seed` (`keras.utils.set_random_seed`) clears: load it again.
            self._load_sentencepiece()
            return self._tokenize(inputs)

    def get_config(self):
        return {
            **super().get_config(),
            "proto": self.proto.decode("latin-1"),
            "special_tokens": self.special_tokens,
            "unknown_token": self.unknown_token,
            "end_id": self.end_id,
            "lowercase": self.lowercase,
        }


def _piece_ids(source):
    """`{piece: id}` of the SentencePiece model of a Hugging Face checkpoint."""
    import tensorflow as tf
    import tensorflow_text as tf_text

    with open(_spiece_path(source), "rb") as f:
        model = tf_text.SentencepieceTokenizer(model=f.read())
    size = int(model.vocab_size())
    pieces = model.id_to_string(tf.range(size)).numpy()
    return {piece.decode("utf-8"): index for index, piece in enumerate(pieces)}


def _spiece_path(source):
    path = source.file("spiece.model")
    if path is None:
        raise ValueError(
            f"pretrained source {source.source!r}: the checkpoint has no spiece.model (SigLIP's "
            f"SentencePiece model) in {source.location}."
        )
    return path


def siglip_tokenizer_arguments(source):
    """The `SigLIPTokenizer` arguments of a Hugging Face SigLIP checkpoint."""
    config = tokenizer_config(source)
    pieces = _piece_ids(source)
    specials = {}
    for index, added in (config.get("added_tokens_decoder") or {}).items():
        content = added.get("content") if isinstance(added, dict) else added
        if content:
            specials[content] = int(index)
    for key, default in (("eos_token", "</s>"), ("unk_token", "<unk>"), ("pad_token", "</s>")):
        token = special_token(config, key) or default
        if token not in specials:
            if token not in pieces:
                raise ValueError(
                    f"pretrained source {source.source!r}: the tokenizer's {key} {token!r} is "
                    "not in its SentencePiece model."
                )
            specials[token] = pieces[token]
    for token in config.get("additional_special_tokens") or ():
        token = token.get("content") if isinstance(token, dict) else token
        if token in pieces and token not in specials:
            specials[token] = pieces[token]
    with open(_spiece_path(source), "rb") as f:
        proto = f.read()
    unknown = special_token(config, "unk_token") or "<unk>"
    end = special_token(config, "eos_token") or "</s>"
    return {
        "proto": proto,
        "special_tokens": specials,
        "unknown_token": unknown,
        "end_id": specials[end],
        "lowercase": bool(config.get("do_lower_case", True)),
    }


def siglip_special_ids(source):
    """`{"pad_id", "start_id", "end_id"}` of a SigLIP checkpoint (no start token: None)."""
    if source.format == "keras_hub":
        import keras_hub

        preset = keras_hub.tokenizers.Tokenizer.from_preset(source.location)
        return {
            "pad_id": int(preset.pad_token_id),
            "start_id": None,
            "end_id": int(preset.end_token_id),
        }
    arguments = siglip_tokenizer_arguments(source)
    config = tokenizer_config(source)
    pad = special_token(config, "pad_token") or "</s>"
    return {
        "pad_id": arguments["special_tokens"][pad],
        "start_id": None,
        "end_id": arguments["end_id"],
    }


__all__ = ["SigLIPTokenizer", "siglip_special_ids", "siglip_tokenizer_arguments"]
