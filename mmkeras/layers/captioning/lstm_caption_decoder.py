"""`LSTMCaptionDecoder`: an LSTM language model conditioned on an image, with optional attention."""

import keras
from keras import ops

from mmkeras.argument_checks import check_divisible, check_positive_int
from mmkeras.layers.captioning._common import split_decoder_inputs
from mmkeras.layers.captioning.caption_decoder import CaptionDecoder


@keras.saving.register_keras_serializable(package="mmkeras")
class LSTMCaptionDecoder(CaptionDecoder):
    """Predicts the next caption token at every position with an LSTM.

    The image feature sets the LSTM's initial hidden and cell states, as in Show and Tell
    (Vinyals et al., 2015). With `attention=True`, each LSTM output also attends over the image
    regions, and the output and its attention context are combined before the vocabulary
    projection, so every word can look at a different part of the image as in Show, Attend and
    Tell (Xu et al., 2015); attending after the recurrence keeps teacher-forced training a single
    pass over the caption. The LSTM is causal: the logits at step `t` depend on tokens `0..t` only.

    Args:
        vocab_size: int, number of token ids.
        embedding_dim: int, size of the token embeddings.
        units: int, LSTM width (and attention width).
        attention: bool, whether to attend over the image regions.
        num_heads: int, attention heads (`units` must divide by it).
        dropout: float in [0, 1), dropout on embeddings and on the LSTM outputs.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: tuple `(token_ids, image_feature)`, or with attention
            `(token_ids, image_feature, image_sequence[, sequence_mask])`: int token ids
            `(batch, steps)`, feature `(batch, dim)`, regions `(batch, regions, dim_seq)`, and a
            bool mask `(batch, regions)` that is True at real regions.
        training: bool, whether dropout is active.

    Returns:
        Float tensor `(batch, steps, vocab_size)` of next-token logits.

    Example:
    >>> token_ids = np.random.randint(1, 1000, (8, 20))
    >>> image_feature = np.random.rand(8, 32).astype("float32")
    >>> decoder = LSTMCaptionDecoder(vocab_size=1000, attention=False)
    >>> print(decoder((token_ids, image_feature)).shape)
    (8, 20, 1000)
    """

    config_arguments = ("vocab_size", "embedding_dim", "units", "attention", "num_heads", "dropout")

    def __init__(
        self,
        vocab_size,
        embedding_dim=64,
        units=128,
        attention=True,
        num_heads=1,
        dropout=0.0,
        **kwargs,
    ):
        super().__init__(vocab_size, num_heads, attention, dropout, **kwargs)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.units = check_positive_int("units", units)
        check_divisible("units", units, "num_heads", num_heads)

    def build(self, input_shape):
        tokens, feature, sequence, _ = self.split_shapes(input_shape)
        policy = self.dtype_policy
        batch, steps = tokens
        self.token_embedding = keras.layers.Embedding(
            self.vocab_size, self.embedding_dim, dtype=policy, name="token_embedding"
        )
        self.initial_hidden = keras.layers.Dense(
            self.units, activation="tanh", dtype=policy, name="initial_hidden"
        )
        self.initial_cell = keras.layers.Dense(self.units, dtype=policy, name="initial_cell")
        self.lstm = keras.layers.LSTM(self.units, return_sequences=True, dtype=policy, name="lstm")
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=policy)
        self.output_projection = keras.layers.Dense(
            self.vocab_size, dtype=policy, name="output_projection"
        )
        self.token_embedding.build(tokens)
        self.initial_hidden.build(feature)
        self.initial_cell.build(feature)
        self.lstm.build((batch, steps, self.embedding_dim))
        states = (batch, steps, self.units)
        if self.attention:
            self.memory_projection = keras.layers.Dense(
                self.units, dtype=policy, name="memory_projection"
            )
            self.attention_layer = keras.layers.MultiHeadAttention(
                self.num_heads, self.units // self.num_heads, dtype=policy, name="attention"
            )
            self.combine = keras.layers.Dense(
                self.units, activation="tanh", dtype=policy, name="combine"
            )
            self.memory_projection.build(sequence)
            memory = (*sequence[:-1], self.units)
            self.attention_layer.build(states, memory)
            self.combine.build((batch, steps, 2 * self.units))
        self.output_projection.build(states)
        self.built = True

    def call(self, inputs, training=None):
        tokens, feature, sequence, mask = split_decoder_inputs(inputs)
        embedded = self.dropout_layer(self.token_embedding(tokens), training=training)
        initial_state = [self.initial_hidden(feature), self.initial_cell(feature)]
        states = self.lstm(embedded, initial_state=initial_state, training=training)
        if self.attention:
            memory = self.memory_projection(sequence)
            attention_mask = None
            if mask is not None:
                attention_mask = ops.expand_dims(ops.cast(mask, "bool"), axis=1)
            context = self.attention_layer(
                states, memory, attention_mask=attention_mask, training=training
            )
            states = self.combine(ops.concatenate([states, context], axis=-1))
        return self.output_projection(self.dropout_layer(states, training=training))
