"""The state at a text's end token (CLIP's text pooling)."""

import keras
from keras import ops

from mmkeras.argument_checks import check_int
from mmkeras.layers.modeling.token_at import state_shape


@keras.saving.register_keras_serializable(package="mmkeras")
class EndTokenPooling(keras.layers.Layer):
    """Takes each row's state at its first `end_id` token.

    A causal text encoder has seen the whole text only at its last token, so CLIP pools the
    state there. With `end_id=None` the position is that of the largest id of the row (CLIP
    checkpoints whose end token is the last id of the vocabulary, the rule of the released
    OpenAI checkpoints, whose config says `eos_token_id: 2`). A row without `end_id` pools its
    first position.

    Args:
        end_id: int or None, the end token's id; None takes the largest id of each row.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: tuple `(sequence, token_ids)`: float `(batch, steps, width)` and int
            `(batch, steps)`.

    Returns:
        Float tensor `(batch, width)`.

    Example:
    >>> states = np.arange(12, dtype="float32").reshape(1, 4, 3)
    >>> ids = np.array([[5, 8, 9, 9]])
    >>> keras.ops.convert_to_numpy(EndTokenPooling(end_id=9)((states, ids)))
    array([[6., 7., 8.]], dtype=float32)
    """

    def __init__(self, end_id=None, **kwargs):
        super().__init__(**kwargs)
        self.end_id = check_int("end_id", end_id, 0, "EndTokenPooling", allow_none=True)

    def call(self, inputs):
        sequence, token_ids = inputs
        if self.end_id is None:
            target = ops.max(token_ids, axis=1, keepdims=True)
        else:
            target = ops.cast(self.end_id, token_ids.dtype)
        steps = ops.shape(token_ids)[1]
        positions = ops.arange(steps, dtype="int32")[None, :]
        # The first match, computed without argmax, whose choice among ties is unspecified.
        first = ops.min(ops.where(ops.equal(token_ids, target), positions, steps), axis=1)
        index = ops.where(first < steps, first, 0)[:, None, None]
        return ops.take_along_axis(sequence, index, axis=1)[:, 0]

    def compute_output_shape(self, input_shape):
        sequence_shape, ids_shape = input_shape
        if len(ids_shape) != 2:
            raise ValueError(
                "EndTokenPooling expects token_ids of shape (batch, steps); received "
                f"shape {tuple(ids_shape)}."
            )
        return state_shape(sequence_shape, "EndTokenPooling")

    def get_config(self):
        return {**super().get_config(), "end_id": self.end_id}
