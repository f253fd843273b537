"""`PreNormTransformerBlock`: what the pre-norm encoder and decoder blocks share."""

import keras

from mmkeras.argument_checks import check_positive_int, check_rate
from mmkeras.layers.config_arguments import ConfigArgumentsMixin


class PreNormTransformerBlock(ConfigArgumentsMixin, keras.layers.Layer):
    """Base of the pre-norm Transformer blocks: their arguments and the feed-forward branch.

    A block's attention sub-layers are its own; every block ends with
    `x + FFN(LayerNorm(x))` (`feed_forward`), built by `build_feed_forward`, and applies
    `residual_dropout` to each residual branch.

    The arguments (`num_heads`, `intermediate_dim`, `dropout`, `activation`,
    `layer_norm_epsilon`, layer keyword arguments) are documented on `TransformerEncoderBlock`.
    """

    config_arguments = (
        "num_heads",
        "intermediate_dim",
        "dropout",
        "activation",
        "layer_norm_epsilon",
    )

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        dropout=0.0,
        activation="gelu",
        layer_norm_epsilon=1e-5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = check_positive_int("num_heads", num_heads)
        self.intermediate_dim = check_positive_int("intermediate_dim", intermediate_dim)
        self.dropout = check_rate("dropout", dropout)
        self.activation = keras.activations.get(activation)
        self.layer_norm_epsilon = layer_norm_epsilon

    def build_feed_forward(self, x_shape):
        """Creates and builds the feed-forward branch and the residual dropout for `x_shape`."""
        policy = self.dtype_policy
        self.ffn_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="ffn_norm"
        )
        self.ffn_inner = keras.layers.Dense(
            self.intermediate_dim, activation=self.activation, dtype=policy, name="ffn_inner"
        )
        self.ffn_outer = keras.layers.Dense(x_shape[-1], dtype=policy, name="ffn_outer")
        self.residual_dropout = keras.layers.Dropout(self.dropout, dtype=policy)
        self.ffn_norm.build(x_shape)
        self.ffn_inner.build(x_shape)
        self.ffn_outer.build((*x_shape[:-1], self.intermediate_dim))

    def feed_forward(self, x, training=None):
        """`x + FFN(LayerNorm(x))`, with dropout on the branch."""
        hidden = self.ffn_outer(self.ffn_inner(self.ffn_norm(x)))
        return x + self.residual_dropout(hidden, training=training)
