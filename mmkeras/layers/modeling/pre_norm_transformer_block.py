"""`PreNormTransformerBlock`: what the pre-norm encoder and decoder blocks share."""

import keras
from keras import ops

from mmkeras.argument_checks import check_positive_int, check_rate
from mmkeras.layers.config_arguments import ConfigArgumentsMixin


class PreNormTransformerBlock(ConfigArgumentsMixin, keras.layers.Layer):
    """Base of the pre-norm Transformer blocks: their arguments and residual branches.

    A block chooses its attention sub-layers, each `x + Attention(LayerNorm(x), memory)`
    (`build_attention`, `attend`); every block ends with `x + FFN(LayerNorm(x))`
    (`feed_forward`), built by `build_feed_forward`, and applies `residual_dropout` to each
    residual branch.

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

    def build_attention(self, name, x_shape, memory_shape):
        """Creates and builds an attention sub-layer: `(norm, attention)`, named `{name}_norm`
        and `name`, whose queries have `x_shape` and keys and values `memory_shape`."""
        policy = self.dtype_policy
        norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name=f"{name}_norm"
        )
        attention = keras.layers.MultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=x_shape[-1] // self.num_heads,
            dropout=self.dropout,
            dtype=policy,
            name=name,
        )
        norm.build(x_shape)
        attention.build(x_shape, memory_shape)
        return norm, attention

    def attend(self, norm, attention, x, memory=None, key_mask=None, training=None, **kwargs):
        """`x + Attention(LayerNorm(x), memory)` (self-attention without `memory`), with
        dropout on the branch. `key_mask`, a bool tensor `(batch, keys)`, lets every query
        attend to the keys where it is True only; `kwargs` go to the attention layer."""
        normed = norm(x)
        memory = normed if memory is None else memory
        if key_mask is not None:
            # (batch, 1, keys): the same keys for every query.
            kwargs["attention_mask"] = ops.expand_dims(ops.cast(key_mask, "bool"), axis=1)
        attended = attention(normed, memory, training=training, **kwargs)
        return x + self.residual_dropout(attended, training=training)

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
