"""Pooling a sequence by attention from one learned query (SigLIP's MAP head)."""

import keras
from keras import ops

from mmkeras.argument_checks import check_positive_int
from mmkeras.layers.config_arguments import ConfigArgumentsMixin
from mmkeras.layers.split_width import split_width


@keras.saving.register_keras_serializable(package="mmkeras")
class MultiheadAttentionPooling(ConfigArgumentsMixin, keras.layers.Layer):
    """Pools a sequence into one vector: a learned probe attends to it, then a residual MLP.

    `p = Attention(probe, x, x)`, then `p + MLP(LayerNorm(p))`: multihead attention pooling as
    in SigLIP's vision tower (`SiglipMultiheadAttentionPoolingHead`). Unlike a mean it learns
    which positions matter; unlike a class token it needs no extra position in the encoder.

    Args:
        num_heads: int, number of attention heads; it must divide the feature size.
        intermediate_dim: int, width of the MLP.
        activation: activation of the MLP (a name or a function).
        layer_norm_epsilon: float, epsilon of the layer normalisation.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, steps, dim)`.

    Returns:
        Float tensor `(batch, dim)`.

    Example:
    >>> pool = MultiheadAttentionPooling(num_heads=2, intermediate_dim=16)
    >>> print(pool(np.ones((3, 5, 8), "float32")).shape)
    (3, 8)
    """

    config_arguments = ("num_heads", "intermediate_dim", "activation", "layer_norm_epsilon")

    def __init__(
        self, num_heads, intermediate_dim, activation="gelu", layer_norm_epsilon=1e-6, **kwargs
    ):
        super().__init__(**kwargs)
        where = "MultiheadAttentionPooling"
        self.num_heads = check_positive_int("num_heads", num_heads, where)
        self.intermediate_dim = check_positive_int("intermediate_dim", intermediate_dim, where)
        self.activation = keras.activations.get(activation)
        self.layer_norm_epsilon = layer_norm_epsilon

    def build(self, input_shape):
        dim = input_shape[-1]
        key_dim = split_width(input_shape, self.num_heads, "num_heads", "MultiheadAttentionPooling")
        policy = self.dtype_policy
        self.probe = self.add_weight(shape=(1, 1, dim), initializer="glorot_uniform", name="probe")
        self.attention = keras.layers.MultiHeadAttention(
            num_heads=self.num_heads, key_dim=key_dim, dtype=policy, name="attention"
        )
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="layer_norm"
        )
        self.mlp_inner = keras.layers.Dense(
            self.intermediate_dim, activation=self.activation, dtype=policy, name="mlp_inner"
        )
        self.mlp_outer = keras.layers.Dense(dim, dtype=policy, name="mlp_outer")
        query_shape = (input_shape[0], 1, dim)
        self.attention.build(query_shape, input_shape)
        self.layer_norm.build(query_shape)
        self.mlp_inner.build(query_shape)
        self.mlp_outer.build((input_shape[0], 1, self.intermediate_dim))
        self.built = True

    def call(self, inputs, training=None):
        batch = ops.shape(inputs)[0]
        probe = ops.cast(self.probe, inputs.dtype)
        probe = ops.broadcast_to(probe, (batch, 1, ops.shape(probe)[-1]))
        pooled = self.attention(probe, inputs, inputs, training=training)
        pooled = pooled + self.mlp_outer(self.mlp_inner(self.layer_norm(pooled)))
        return pooled[:, 0]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])
