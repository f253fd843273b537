"""One pre-norm Transformer encoder block."""

import keras

from mmkeras.argument_checks import check_bool
from mmkeras.layers.modeling.pre_norm_transformer_block import PreNormTransformerBlock
from mmkeras.layers.split_width import split_width


@keras.saving.register_keras_serializable(package="mmkeras")
class TransformerEncoderBlock(PreNormTransformerBlock):
    """Self-attention and a feed-forward network, each in a pre-norm residual branch.

    `x + Attention(LayerNorm(x))`, then `x + FFN(LayerNorm(x))`. Normalising before each
    sub-layer keeps small models trainable without a learning-rate warm-up. Padded positions
    are excluded as attention keys, so they do not change the real positions' outputs. With
    `use_causal_mask=True` each position attends to itself and the positions before it only
    (a causal text encoder, as CLIP's).

    Args:
        num_heads: int, number of attention heads.
        intermediate_dim: int, width of the feed-forward network.
        dropout: float in [0, 1), dropout on attention weights and residual branches.
        activation: activation of the feed-forward network.
        layer_norm_epsilon: float, epsilon of the layer normalisations.
        use_causal_mask: bool, whether a position attends to the positions after it too
            (False) or not (True).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, steps, dim)`.
        mask: optional bool tensor `(batch, steps)`, True at real positions.
        training: bool, whether dropout is active.

    Returns:
        Float tensor `(batch, steps, dim)`.

    Example:
    >>> block = TransformerEncoderBlock(num_heads=2, intermediate_dim=32)
    >>> print(block(keras.random.normal((2, 5, 16))).shape)
    (2, 5, 16)
    """

    config_arguments = (*PreNormTransformerBlock.config_arguments, "use_causal_mask")

    def __init__(self, *args, use_causal_mask=False, **kwargs):
        super().__init__(*args, **kwargs)  # the arguments of `PreNormTransformerBlock`
        self.use_causal_mask = check_bool(
            "use_causal_mask", use_causal_mask, "TransformerEncoderBlock"
        )
        self.supports_masking = True

    def build(self, input_shape):
        split_width(input_shape, self.num_heads, "num_heads", "TransformerEncoderBlock")
        self.attention_norm, self.attention = self.build_attention(
            "attention", input_shape, input_shape
        )
        self.build_feed_forward(input_shape)
        self.built = True

    def call(self, inputs, mask=None, training=None):
        x = self.attend(
            self.attention_norm,
            self.attention,
            inputs,
            key_mask=mask,
            use_causal_mask=self.use_causal_mask,
            training=training,
        )
        return self.feed_forward(x, training=training)

    def compute_mask(self, inputs, mask=None):
        # The mask is passed on explicitly (`mask=`), never attached to the output: a Keras
        # mask on the normalised inputs would make the attention mask padded queries too.
        return None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)
