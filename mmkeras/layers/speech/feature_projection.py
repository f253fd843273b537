"""The projection of wav2vec2 / HuBERT convolutional features to the transformer's width."""

import keras

from mmkeras.argument_checks import (
    check_bool,
    check_positive_int,
    check_positive_number,
    check_rate,
)
from mmkeras.layers.config_arguments import ConfigArgumentsMixin


@keras.saving.register_keras_serializable(package="mmkeras")
class FeatureProjection(ConfigArgumentsMixin, keras.layers.Layer):
    """Layer-normalises convolutional features, projects them to `units`, applies dropout.

    Args:
        units: int, the transformer's width (`hidden_size`).
        layer_norm: bool, whether a layer norm comes first (wav2vec2 always; HuBERT as its
            config's `feat_proj_layer_norm` says).
        layer_norm_epsilon: float, the layer norm's epsilon (the checkpoint's `layer_norm_eps`).
        dropout: float in [0, 1), dropout on the projection (`feat_proj_dropout`).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, frames, channels)`.
        training: bool, whether dropout is active.

    Returns:
        Float tensor `(batch, frames, units)`.

    Example:
    >>> print(FeatureProjection(units=8)(np.ones((2, 5, 4), "float32")).shape)
    (2, 5, 8)
    """

    config_arguments = ("units", "layer_norm", "layer_norm_epsilon", "dropout")

    def __init__(self, units, layer_norm=True, layer_norm_epsilon=1e-5, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        where = "FeatureProjection"
        self.units = check_positive_int("units", units, where)
        self.layer_norm = check_bool("layer_norm", layer_norm, where)
        self.layer_norm_epsilon = check_positive_number(
            "layer_norm_epsilon", layer_norm_epsilon, where
        )
        self.dropout = check_rate("dropout", dropout, where)
        if layer_norm:
            self.norm = keras.layers.LayerNormalization(
                epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name="layer_norm"
            )
        self.projection = keras.layers.Dense(units, dtype=self.dtype_policy, name="projection")
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)

    def build(self, input_shape):
        if self.layer_norm:
            self.norm.build(input_shape)
        self.projection.build(input_shape)
        self.built = True

    def call(self, inputs, training=None):
        x = self.norm(inputs) if self.layer_norm else inputs
        return self.dropout_layer(self.projection(x), training=training)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)
