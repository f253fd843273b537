"""Mean over the real positions of a sequence."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mmkeras")
class MaskedMeanPooling(keras.layers.Layer):
    """Averages a sequence over the positions where the mask is True.

    Padded positions contribute nothing, so appending padding to a sequence leaves the result
    unchanged. A sequence with no real position pools to zeros instead of NaN.

    Args:
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, steps, features)`.
        mask: optional bool tensor `(batch, steps)`, True at real positions. When absent, every
            position counts (a plain mean).

    Returns:
        Float tensor `(batch, features)`.

    Example:
    >>> sequence = keras.random.normal((2, 5, 8))
    >>> mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    >>> print(MaskedMeanPooling()(sequence, mask=mask).shape)
    (2, 8)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.mean(inputs, axis=1)
        weights = ops.expand_dims(ops.cast(mask, inputs.dtype), axis=-1)
        total = ops.sum(inputs * weights, axis=1)
        count = ops.maximum(ops.sum(weights, axis=1), ops.cast(1.0, inputs.dtype))
        return total / count

    def compute_mask(self, inputs, mask=None):
        # The pooled output has no time axis left to mask.
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])
