"""One embedding token per scalar feature."""

import keras
from keras import ops

from mmkeras.argument_checks import check_positive_int
from mmkeras.layers.config_arguments import ConfigArgumentsMixin


@keras.saving.register_keras_serializable(package="mmkeras")
class FeatureTokenizer(ConfigArgumentsMixin, keras.layers.Layer):
    """Turns a row of scalar features into a sequence of one token per feature.

    Feature `f` with value `x_f` becomes `x_f * w_f + b_f`, where `w_f` and `b_f` are learned
    vectors of size `embedding_dim` owned by that feature. This gives tabular data a sequence
    form that attention layers can consume.

    Args:
        embedding_dim: int, size of each token.
        kernel_initializer: initializer of the per-feature weights `w_f`.
        bias_initializer: initializer of the per-feature biases `b_f`.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, num_features)`.

    Returns:
        Float tensor `(batch, num_features, embedding_dim)`.

    Example:
    >>> print(FeatureTokenizer(embedding_dim=16)(keras.random.normal((4, 8))).shape)
    (4, 8, 16)
    """

    config_arguments = ("embedding_dim", "kernel_initializer", "bias_initializer")

    def __init__(
        self,
        embedding_dim,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int("embedding_dim", embedding_dim)
        self.embedding_dim = embedding_dim
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(
                "FeatureTokenizer expects inputs of shape (batch, num_features) with a known "
                f"num_features; received input_shape={tuple(input_shape)}."
            )
        shape = (input_shape[-1], self.embedding_dim)
        self.kernel = self.add_weight(
            shape=shape, initializer=self.kernel_initializer, name="kernel"
        )
        self.bias = self.add_weight(shape=shape, initializer=self.bias_initializer, name="bias")
        self.built = True

    def call(self, inputs):
        values = ops.expand_dims(ops.cast(inputs, self.compute_dtype), axis=-1)
        return values * ops.cast(self.kernel, self.compute_dtype) + ops.cast(
            self.bias, self.compute_dtype
        )

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.embedding_dim)
