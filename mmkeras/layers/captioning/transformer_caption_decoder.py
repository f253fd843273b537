"""`TransformerCaptionDecoder`: a causal Transformer conditioned on an image feature and regions."""

import keras
from keras import ops

from mmkeras.argument_checks import check_divisible, check_positive_int
from mmkeras.layers.captioning._common import split_decoder_inputs
from mmkeras.layers.captioning.caption_decoder import CaptionDecoder
from mmkeras.layers.captioning.transformer_decoder_block import TransformerDecoderBlock
from mmkeras.layers.modeling.token_and_position_embedding import TokenAndPositionEmbedding


@keras.saving.register_keras_serializable(package="mmkeras")
class TransformerCaptionDecoder(CaptionDecoder):
    """Predicts the next caption token at every position with causal Transformer blocks.

    Token and position embeddings are offset by a projection of the image feature, so every
    position is conditioned on the whole image. With `attention=True`, each block also
    cross-attends over the image regions. Self-attention is causal: the logits at step `t`
    depend on tokens `0..t` only.

    Args:
        vocab_size: int, number of token ids.
        max_length: int, the longest token sequence (size of the position table).
        hidden_dim: int, width of the blocks (must divide by `num_heads`).
        num_layers: int, number of decoder blocks.
        num_heads: int, attention heads per block.
        intermediate_dim: int, feed-forward width; default `4 * hidden_dim`.
        attention: bool, whether the blocks attend over the image regions.
        dropout: float in [0, 1).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: tuple `(token_ids, image_feature)`, or with attention
            `(token_ids, image_feature, image_sequence[, sequence_mask])`: int token ids
            `(batch, steps)` with `steps <= max_length`, feature `(batch, dim)`, regions
            `(batch, regions, dim_seq)`, and a bool mask `(batch, regions)`, True at real
            regions.
        training: bool, whether dropout is active.

    Returns:
        Float tensor `(batch, steps, vocab_size)` of next-token logits.

    Example:
    >>> token_ids = np.random.randint(1, 1000, (8, 20))
    >>> image_feature = np.random.rand(8, 32).astype("float32")
    >>> image_regions = np.random.rand(8, 16, 32).astype("float32")
    >>> decoder = TransformerCaptionDecoder(vocab_size=1000, max_length=20, hidden_dim=64)
    >>> print(decoder((token_ids, image_feature, image_regions)).shape)
    (8, 20, 1000)
    """

    config_arguments = (
        "vocab_size",
        "max_length",
        "hidden_dim",
        "num_layers",
        "num_heads",
        "intermediate_dim",
        "attention",
        "dropout",
    )

    def __init__(
        self,
        vocab_size,
        max_length,
        hidden_dim=64,
        num_layers=2,
        num_heads=2,
        intermediate_dim=None,
        attention=True,
        dropout=0.0,
        **kwargs,
    ):
        super().__init__(vocab_size, num_heads, attention, dropout, **kwargs)
        self.max_length = check_positive_int("max_length", max_length)
        self.hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        self.num_layers = check_positive_int("num_layers", num_layers)
        if intermediate_dim is not None:
            check_positive_int("intermediate_dim", intermediate_dim)
        self.intermediate_dim = intermediate_dim
        check_divisible("hidden_dim", hidden_dim, "num_heads", num_heads)

    def build(self, input_shape):
        tokens, feature, sequence, _ = self.split_shapes(input_shape)
        policy = self.dtype_policy
        states = (*tokens, self.hidden_dim)
        self.token_embedding = TokenAndPositionEmbedding(
            self.vocab_size, self.max_length, self.hidden_dim, dtype=policy, name="token_embedding"
        )
        self.feature_projection = keras.layers.Dense(
            self.hidden_dim, dtype=policy, name="feature_projection"
        )
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=policy)
        self.token_embedding.build(tokens)
        self.feature_projection.build(feature)
        memory = None
        if self.attention:
            self.memory_projection = keras.layers.Dense(
                self.hidden_dim, dtype=policy, name="memory_projection"
            )
            self.memory_projection.build(sequence)
            memory = (*sequence[:-1], self.hidden_dim)
        self.blocks = []
        for index in range(self.num_layers):
            block = TransformerDecoderBlock(
                self.num_heads,
                self.intermediate_dim or 4 * self.hidden_dim,
                cross_attention=self.attention,
                dropout=self.dropout,
                dtype=policy,
                name=f"block_{index}",
            )
            block.build((states, memory) if self.attention else states)
            self.blocks.append(block)
        self.final_norm = keras.layers.LayerNormalization(
            epsilon=1e-5, dtype=policy, name="final_norm"
        )
        self.output_projection = keras.layers.Dense(
            self.vocab_size, dtype=policy, name="output_projection"
        )
        self.final_norm.build(states)
        self.output_projection.build(states)
        self.built = True

    def call(self, inputs, training=None):
        tokens, feature, sequence, mask = split_decoder_inputs(inputs)
        image = ops.expand_dims(self.feature_projection(feature), axis=1)
        x = self.dropout_layer(self.token_embedding(tokens) + image, training=training)
        memory = self.memory_projection(sequence) if self.attention else None
        for block in self.blocks:
            if self.attention:
                x = block((x, memory, mask), training=training)
            else:
                x = block(x, training=training)
        return self.output_projection(self.final_norm(x))
