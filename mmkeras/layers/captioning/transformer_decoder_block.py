"""One pre-norm Transformer decoder block: causal self-attention, cross-attention, feed-forward."""

import keras

from mmkeras.argument_checks import check_bool
from mmkeras.layers.modeling.pre_norm_transformer_block import PreNormTransformerBlock


@keras.saving.register_keras_serializable(package="mmkeras")
class TransformerDecoderBlock(PreNormTransformerBlock):
    """A decoder block whose positions see only earlier positions, and optionally a memory.

    `x + CausalSelfAttention(LayerNorm(x))`, then (with `cross_attention=True`)
    `x + CrossAttention(LayerNorm(x), memory)`, then `x + FFN(LayerNorm(x))`. The causal mask
    makes the output at position `t` independent of the tokens after `t`, which is what allows
    teacher-forced training on whole captions and step-by-step decoding to agree. Memory
    positions that are False in `memory_mask` are never attended.

    Args:
        num_heads: int, number of attention heads (the feature size must divide by it).
        intermediate_dim: int, width of the feed-forward network.
        cross_attention: bool, whether the block attends over a memory (e.g. image regions).
        dropout: float in [0, 1), dropout on attention weights and residual branches.
        activation: activation of the feed-forward network.
        layer_norm_epsilon: float, epsilon of the layer normalisations.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: with `cross_attention=False`, a float tensor `(batch, steps, dim)`; with
            `cross_attention=True`, a tuple `(x, memory)` or `(x, memory, memory_mask)` with
            `memory` `(batch, regions, memory_dim)` and `memory_mask` bool `(batch, regions)`.
        training: bool, whether dropout is active.

    Returns:
        Float tensor `(batch, steps, dim)`.

    Example:
    >>> token_states = np.random.rand(2, 12, 32).astype("float32")
    >>> image_regions = np.random.rand(2, 16, 32).astype("float32")
    >>> block = TransformerDecoderBlock(num_heads=2, intermediate_dim=64)
    >>> print(block((token_states, image_regions)).shape)
    (2, 12, 32)
    """

    config_arguments = (*PreNormTransformerBlock.config_arguments, "cross_attention")

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        cross_attention=True,
        dropout=0.0,
        activation="gelu",
        layer_norm_epsilon=1e-5,
        **kwargs,
    ):
        super().__init__(
            num_heads,
            intermediate_dim,
            dropout=dropout,
            activation=activation,
            layer_norm_epsilon=layer_norm_epsilon,
            **kwargs,
        )
        self.cross_attention = check_bool("cross_attention", cross_attention)

    def _split_shapes(self, input_shape):
        if self.cross_attention:
            if (
                not isinstance(input_shape, (list, tuple))
                or len(input_shape) not in (2, 3)
                or not all(isinstance(shape, (list, tuple)) for shape in input_shape[:2])
            ):
                raise ValueError(
                    "TransformerDecoderBlock with cross_attention=True takes (x, memory) or "
                    f"(x, memory, memory_mask); received input_shape={input_shape}."
                )
            return tuple(input_shape[0]), tuple(input_shape[1])
        return tuple(input_shape), None

    def build(self, input_shape):
        x_shape, memory_shape = self._split_shapes(input_shape)
        dim = x_shape[-1]
        if len(x_shape) != 3 or dim is None or dim % self.num_heads:
            raise ValueError(
                "TransformerDecoderBlock needs x of shape (batch, steps, dim) with dim divisible "
                f"by num_heads={self.num_heads}; received {x_shape}."
            )
        self.self_attention_norm, self.self_attention = self.build_attention(
            "self_attention", x_shape, x_shape
        )
        if self.cross_attention:
            self.cross_attention_norm, self.cross_attention_layer = self.build_attention(
                "cross_attention", x_shape, memory_shape
            )
        self.build_feed_forward(x_shape)
        self.built = True

    def call(self, inputs, training=None):
        memory = memory_mask = None
        if self.cross_attention:
            x, memory = inputs[0], inputs[1]
            memory_mask = inputs[2] if len(inputs) == 3 else None
        else:
            x = inputs
        x = self.attend(
            self.self_attention_norm,
            self.self_attention,
            x,
            use_causal_mask=True,
            training=training,
        )
        if self.cross_attention:
            x = self.attend(
                self.cross_attention_norm,
                self.cross_attention_layer,
                x,
                memory,
                key_mask=memory_mask,
                training=training,
            )
        return self.feed_forward(x, training=training)

    def compute_output_shape(self, input_shape):
        return self._split_shapes(input_shape)[0]
