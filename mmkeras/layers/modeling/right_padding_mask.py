"""The real positions of right-padded token ids, when the padding id may also be a real token."""

import keras
from keras import ops

from mmkeras.argument_checks import check_bool, check_int
from mmkeras.layers.batch_steps_layer import BatchStepsLayer


@keras.saving.register_keras_serializable(package="mmkeras")
class RightPaddingMask(BatchStepsLayer):
    """True at the real positions of token ids padded on the right with `padding_id`.

    Padding is the run of `padding_id` at the end of a row; the same id elsewhere is a real
    token. CLIP's and SigLIP's tokenizers pad with their end token: then `padding_is_end=True`
    counts the first id of that run as real (it is the end token the tokenizer wrote), which
    is what their tokenizers' attention masks say. A row without padding is all real. This
    differs from `SequenceMask(padding_id)` (`ids != padding_id`), which would also drop an end
    token equal to the padding id.

    Args:
        padding_id: int, the id the rows are padded with.
        padding_is_end: bool, whether the padding id is also the end token (the first of the
            trailing run is then real).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: int tensor `(batch, steps)` of token ids.

    Returns:
        Bool tensor `(batch, steps)`.

    Example:
    >>> ids = np.array([[7, 5, 9, 1, 1], [7, 1, 4, 9, 1]])
    >>> keras.ops.convert_to_numpy(RightPaddingMask(padding_id=1, padding_is_end=True)(ids))
    array([[ True,  True,  True,  True, False],
           [ True,  True,  True,  True,  True]])
    """

    input_description = "token ids of shape (batch, steps)"
    output_dtype = "bool"

    def __init__(self, padding_id, padding_is_end=False, **kwargs):
        super().__init__(**kwargs)
        self.padding_id = check_int("padding_id", padding_id, 0, "RightPaddingMask")
        self.padding_is_end = check_bool("padding_is_end", padding_is_end, "RightPaddingMask")

    def call(self, inputs):
        steps = ops.shape(inputs)[1]
        positions = ops.arange(steps, dtype="int32")[None, :]
        real = ops.not_equal(inputs, ops.cast(self.padding_id, inputs.dtype))
        # Index of the last non-padding id of each row, -1 for a row of padding only.
        last_real = ops.max(ops.where(real, positions, -1), axis=1, keepdims=True)
        first_padding = last_real + 1
        if self.padding_is_end:
            return ops.less_equal(positions, first_padding)
        return ops.less(positions, first_padding)

    def get_config(self):
        return {
            **super().get_config(),
            "padding_id": self.padding_id,
            "padding_is_end": self.padding_is_end,
        }
