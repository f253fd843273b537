"""A recurrent text encoder over token ids."""

import keras

from mmkeras.argument_checks import check_positive_int
from mmkeras.branches._common import (
    branch_outputs,
    check_rnn_arguments,
    dense_head,
    rnn_stack,
)
from mmkeras.branches.freezing import record_blocks
from mmkeras.layers.modeling import SequenceMask


def text_rnn(
    vocab_size=20000,
    cell="lstm",
    bidirectional=True,
    num_layers=1,
    embedding_dim=128,
    units=128,
    output_dim=128,
    max_length=None,
    pooling="last",
    dropout=0.1,
    activation="relu",
    return_sequence=False,
    name="text_rnn",
):
    """Builds a text branch: token embedding, stacked LSTM/GRU layers, projection.

    Token id 0 is padding: the embedding masks it, the recurrent layers skip it, so appending
    padding to a sequence does not change its feature.

    Args:
        vocab_size: int, number of token ids (0 = padding, 1 = out-of-vocabulary).
        cell: `"lstm"` or `"gru"`.
        bidirectional: bool, read the text in both directions.
        num_layers: int, number of stacked recurrent layers.
        embedding_dim: int, size of the token embeddings.
        units: int, hidden size of each recurrent layer (per direction).
        output_dim: int, size of the output feature.
        max_length: int or None, fixed sequence length of the input, None for any length.
        pooling: `"last"` (final hidden state of each direction) or `"mean"` (average of the
            last layer's outputs over the real tokens).
        dropout: float in [0, 1), dropout on the recurrent inputs and before the projection.
        activation: activation of the output feature.
        return_sequence: bool, also return the per-token outputs.
        name: name of the returned model.

    Returns:
        A functional `keras.Model` taking int32 token ids `(batch, steps)`. It returns the
        feature `(batch, output_dim)`, or with `return_sequence=True` a dict: `"feature"`,
        `"sequence"` `(batch, steps, units * directions)` and `"sequence_mask"`
        `(batch, steps)`, False at padding.

    Example:
    >>> branch = text_rnn(vocab_size=100, cell="gru", embedding_dim=16, units=16, output_dim=32)
    >>> print(branch(np.array([[5, 8, 2, 0, 0]], "int32")).shape)
    (1, 32)
    """
    builder = "text_rnn"
    check_positive_int("vocab_size", vocab_size, builder)
    check_positive_int("embedding_dim", embedding_dim, builder)
    check_positive_int("output_dim", output_dim, builder)
    if max_length is not None:
        check_positive_int("max_length", max_length, builder)
    check_rnn_arguments(cell, units, num_layers, pooling, dropout, builder)

    token_ids = keras.Input(shape=(max_length,), dtype="int32", name="text")
    mask = SequenceMask(padding_id=0, name="sequence_mask")(token_ids)
    x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")(
        token_ids
    )
    sequence, pooled = rnn_stack(
        x, cell, units, bidirectional, num_layers, dropout, pooling, mask=mask
    )
    feature = dense_head(pooled, output_dim, activation, dropout)
    outputs = branch_outputs(feature, sequence, mask, return_sequence)
    return record_blocks(keras.Model(token_ids, outputs, name=name))
