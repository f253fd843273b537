"""A Transformer text encoder trained from scratch."""

import keras

from mmkeras.argument_checks import check_positive_int, check_rate
from mmkeras.branches._common import branch_outputs, dense_head
from mmkeras.branches.freezing import record_blocks
from mmkeras.layers.modeling import (
    MaskedMeanPooling,
    SequenceMask,
    TokenAndPositionEmbedding,
    TransformerEncoderBlock,
)


def text_transformer(
    vocab_size=20000,
    num_layers=2,
    num_heads=4,
    output_dim=128,
    max_length=512,
    embedding_dim=128,
    intermediate_dim=None,
    dropout=0.1,
    activation="relu",
    return_sequence=False,
    name="text_transformer",
):
    """Builds a text branch: token + position embedding, Transformer encoder, mean pooling.

    Padding (id 0) is excluded as an attention key and from the mean, so appending padding to
    a sequence does not change its feature.

    Args:
        vocab_size: int, number of token ids (0 = padding, 1 = out-of-vocabulary).
        num_layers: int, number of encoder blocks.
        num_heads: int, attention heads per block; must divide `embedding_dim`.
        output_dim: int, size of the output feature.
        max_length: int, longest input sequence (size of the position table). Inputs may be
            shorter.
        embedding_dim: int, model width.
        intermediate_dim: int or None, width of the feed-forward networks; None means
            `4 * embedding_dim`.
        dropout: float in [0, 1), dropout on embeddings, attention and before the projection.
        activation: activation of the output feature.
        return_sequence: bool, also return the per-token encodings.
        name: name of the returned model.

    Returns:
        A functional `keras.Model` taking int32 token ids `(batch, steps)`, `steps <=
        max_length`. It returns the feature `(batch, output_dim)`, or with
        `return_sequence=True` a dict: `"feature"`, `"sequence"` `(batch, steps,
        embedding_dim)` and `"sequence_mask"` `(batch, steps)`, False at padding.

    Example:
    >>> branch = text_transformer(vocab_size=100, num_layers=1, num_heads=2, max_length=16,
    ...                           embedding_dim=16, output_dim=32)
    >>> branch(np.array([[5, 8, 2, 0]], "int32")).shape
    (1, 32)
    """
    builder = "text_transformer"
    check_positive_int("vocab_size", vocab_size, builder)
    check_positive_int("num_layers", num_layers, builder)
    check_positive_int("num_heads", num_heads, builder)
    check_positive_int("output_dim", output_dim, builder)
    check_positive_int("max_length", max_length, builder)
    check_positive_int("embedding_dim", embedding_dim, builder)
    if intermediate_dim is None:
        intermediate_dim = 4 * embedding_dim
    check_positive_int("intermediate_dim", intermediate_dim, builder)
    check_rate("dropout", dropout, builder)
    if embedding_dim % num_heads:
        raise ValueError(
            f"{builder}: `num_heads` must divide embedding_dim={embedding_dim}; received "
            f"num_heads={num_heads}."
        )

    token_ids = keras.Input(shape=(None,), dtype="int32", name="text")
    mask = SequenceMask(padding_id=0, name="sequence_mask")(token_ids)
    x = TokenAndPositionEmbedding(vocab_size, max_length, embedding_dim, name="embedding")(
        token_ids
    )
    if dropout:
        x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    for index in range(num_layers):
        x = TransformerEncoderBlock(
            num_heads, intermediate_dim, dropout=dropout, name=f"encoder{index}"
        )(x, mask=mask)
    sequence = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")(x)
    pooled = MaskedMeanPooling(name="pool")(sequence, mask=mask)
    feature = dense_head(pooled, output_dim, activation, dropout)
    outputs = branch_outputs(feature, sequence, mask, return_sequence)
    return record_blocks(keras.Model(token_ids, outputs, name=name))
