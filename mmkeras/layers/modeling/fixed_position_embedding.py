"""A table of position embeddings added to a sequence, kept fixed in training."""

import math

import keras
import numpy as np
from keras import ops

from mmkeras.argument_checks import check_positive_int


def sinusoids(length, width):
    """The `(length, width)` table of Whisper's encoder: sines then cosines of the positions
    over `width / 2` timescales spaced geometrically from 1 to 10000."""
    half = width // 2
    increment = math.log(10000.0) / max(half - 1, 1)
    timescales = np.exp(-increment * np.arange(half, dtype="float64"))
    angles = np.arange(length, dtype="float64")[:, None] * timescales[None, :]
    table = np.concatenate([np.sin(angles), np.cos(angles)], axis=1)
    return np.pad(table, [(0, 0), (0, width - 2 * half)])


@keras.saving.register_keras_serializable(package="mmkeras")
class FixedPositionEmbedding(keras.layers.Layer):
    """Adds one row of a fixed table to each position of a sequence: `x[:, t] + table[t]`.

    The table starts as Whisper's sinusoids (`sinusoids`), is usually overwritten with a
    checkpoint's table, and is a non-trainable weight: it stays fixed when the layer is set
    trainable (Whisper's reference implementation does not train it either), and it is saved
    with the model. A sequence may be shorter than the table (its first rows are used), not
    longer.

    Args:
        max_length: int, number of rows of the table (the longest sequence).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, steps, width)`, `steps <= max_length`.

    Returns:
        Float tensor `(batch, steps, width)`.

    Example:
    >>> layer = FixedPositionEmbedding(max_length=50)
    >>> print(layer(keras.ops.zeros((2, 50, 8))).shape, len(layer.trainable_weights))
    (2, 50, 8) 0
    """

    def __init__(self, max_length, **kwargs):
        super().__init__(**kwargs)
        self.max_length = check_positive_int("max_length", max_length, "FixedPositionEmbedding")

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(
                "FixedPositionEmbedding expects a sequence (batch, steps, width) with a known "
                f"width; received input_shape={tuple(input_shape)}."
            )
        steps = input_shape[1]
        if steps is not None and steps > self.max_length:
            raise ValueError(
                f"FixedPositionEmbedding: the sequence has {steps} steps, more than the table's "
                f"max_length={self.max_length}."
            )
        width = input_shape[-1]
        self.table = self.add_weight(
            shape=(self.max_length, width),
            initializer=keras.initializers.Constant(sinusoids(self.max_length, width)),
            trainable=False,
            name="table",
        )
        self.built = True

    def call(self, inputs):
        steps = ops.shape(inputs)[1]
        rows = ops.cast(self.table[:steps], inputs.dtype)
        return inputs + ops.expand_dims(rows, axis=0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "max_length": self.max_length}
