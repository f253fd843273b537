"""The first-token ([CLS]) readout of a BERT encoder, with or without the checkpoint's pooler."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mmkeras")
class BERTPooler(keras.layers.Layer):
    """Reads the `[CLS]` position of a sequence, optionally through BERT's dense + tanh pooler.

    Args:
        dense: bool. False returns the `[CLS]` hidden state unchanged ("cls" pooling). True applies
            `tanh(h_cls W + b)` with a square kernel, the pooler a BERT checkpoint ships with
            ("pooler" pooling).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, steps, hidden)`.

    Returns:
        Float tensor `(batch, hidden)`.

    Example:
    >>> print(BERTPooler(dense=True)(np.zeros((2, 5, 8), "float32")).shape)
    (2, 8)
    """

    def __init__(self, dense=True, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(dense, bool):
            raise ValueError(f"`dense` must be True or False; received dense={dense!r}.")
        self.dense = dense

    def build(self, input_shape):
        hidden = input_shape[-1]
        if self.dense:
            self.kernel = self.add_weight(
                name="kernel",
                shape=(hidden, hidden),
                initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            )
            self.bias = self.add_weight(name="bias", shape=(hidden,), initializer="zeros")

    def call(self, inputs):
        first = inputs[:, 0, :]
        if not self.dense:
            return first
        return ops.tanh(ops.matmul(first, self.kernel) + self.bias)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "dense": self.dense}
