"""What the tokenizers of Hugging Face checkpoints built of TensorFlow ops share: the
tokenizer files' special tokens and `StringTokenizer`, their base layer."""

import json

import keras


def tokenizer_config(source):
    """`tokenizer_config.json` merged over `special_tokens_map.json` (either may be missing)."""
    merged = {}
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        path = source.file(name)
        if path is not None:
            with open(path, encoding="utf-8") as f:
                merged.update(json.load(f))
    return merged


def special_token(config, key):
    """The text of a special token as a tokenizer config writes it (a string or a dict)."""
    value = config.get(key)
    if isinstance(value, dict):
        value = value.get("content")
    return value


class StringTokenizer(keras.layers.Layer):
    """The base of tokenizers of TensorFlow ops (not trainable): strings -> ragged ids.

    It takes a string, or a string tensor / list `(batch,)`, and returns ids `(batch, None)`
    (`(None,)` for one string). Subclasses define `_ids`, on a `(batch,)` string tensor.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)

    def __call__(self, inputs, *args, **kwargs):
        import tensorflow as tf

        # Python strings are not tensors to Keras: convert them first.
        return super().__call__(tf.convert_to_tensor(inputs, dtype=tf.string), *args, **kwargs)

    def call(self, inputs):
        scalar = inputs.shape.rank == 0
        if scalar:
            inputs = inputs[None]
        ids = self._ids(inputs)
        return ids[0] if scalar else ids

    def _ids(self, inputs):
        raise NotImplementedError(f"{type(self).__name__}._ids")


__all__ = ["StringTokenizer", "special_token", "tokenizer_config"]
