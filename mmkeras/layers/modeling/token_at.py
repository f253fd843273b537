"""The state at one position of a sequence (e.g. a class token)."""

import keras


@keras.saving.register_keras_serializable(package="mmkeras")
class TokenAt(keras.layers.Layer):
    """Returns `sequence[:, index]`: the state of one position, e.g. a class token at 0.

    Args:
        index: int, the position (negative counts from the end).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: tensor `(batch, steps, width)`.

    Returns:
        Tensor `(batch, width)`.

    Example:
    >>> x = np.arange(12, dtype="float32").reshape(1, 3, 4)
    >>> keras.ops.convert_to_numpy(TokenAt(0)(x))
    array([[0., 1., 2., 3.]], dtype=float32)
    """

    def __init__(self, index=0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(index, bool) or not isinstance(index, int):
            raise ValueError(f"TokenAt: `index` must be an int; received index={index!r}.")
        self.index = index

    def call(self, inputs):
        return inputs[:, self.index]

    def compute_output_shape(self, input_shape):
        return state_shape(input_shape, "TokenAt")

    def get_config(self):
        return {**super().get_config(), "index": self.index}


def state_shape(sequence_shape, where):
    """`(batch, width)`: the shape of one position's state of a `(batch, steps, width)` sequence."""
    if len(sequence_shape) != 3:
        raise ValueError(
            f"{where} expects a sequence (batch, steps, width); received "
            f"shape {tuple(sequence_shape)}."
        )
    return (sequence_shape[0], sequence_shape[2])
