"""Boolean mask of the real positions of a sequence."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mmkeras")
class SequenceMask(keras.layers.Layer):
    """Returns a boolean mask `(batch, steps)` that is True at real positions.

    With `padding_id` set, the input is a tensor of token ids `(batch, steps)` and the mask is
    `ids != padding_id`. With `padding_id=None`, the input is a sequence `(batch, steps, ...)`
    whose positions are all real (image regions, audio frames, tabular features) and the mask
    is all True.

    Args:
        padding_id: int or None. Id of the padding token, or None when nothing is padded.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: int tensor `(batch, steps)` of token ids when `padding_id` is set, otherwise a
            tensor `(batch, steps, ...)`.

    Returns:
        Bool tensor `(batch, steps)`.

    Example:
    >>> keras.ops.convert_to_numpy(SequenceMask(padding_id=0)(np.array([[5, 7, 0]])))
    array([[ True,  True, False]])
    """

    def __init__(self, padding_id=None, **kwargs):
        super().__init__(**kwargs)
        if padding_id is not None and (
            isinstance(padding_id, bool) or not isinstance(padding_id, int)
        ):
            raise ValueError(
                f"`padding_id` must be an int or None; received padding_id={padding_id!r}."
            )
        self.padding_id = padding_id

    def build(self, input_shape):
        if self.padding_id is not None and len(input_shape) != 2:
            raise ValueError(
                "SequenceMask with a `padding_id` expects token ids of shape (batch, steps); "
                f"received input_shape={tuple(input_shape)}."
            )
        if self.padding_id is None and len(input_shape) < 2:
            raise ValueError(
                "SequenceMask expects a sequence of shape (batch, steps, ...); received "
                f"input_shape={tuple(input_shape)}."
            )
        self.built = True

    def call(self, inputs):
        if self.padding_id is not None:
            return ops.not_equal(inputs, ops.cast(self.padding_id, inputs.dtype))
        batch_and_steps = ops.shape(inputs)[:2]
        return ops.ones(batch_and_steps, dtype="bool")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:2])

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype="bool")

    def get_config(self):
        return {**super().get_config(), "padding_id": self.padding_id}
