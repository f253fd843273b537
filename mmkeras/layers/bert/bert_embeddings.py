"""Token, position and segment embeddings of a BERT encoder."""

import keras
from keras import ops

from mmkeras.argument_checks import check_positive_int, check_rate
from mmkeras.layers.bert._ops import check_epsilon, layer_norm
from mmkeras.layers.config_arguments import ConfigArgumentsMixin


@keras.saving.register_keras_serializable(package="mmkeras")
class BERTEmbeddings(ConfigArgumentsMixin, keras.layers.Layer):
    """Embeds token ids the way a BERT checkpoint does.

    The output at position `t` is `LayerNorm(word[id_t] + position[t] + segment[0])`, followed by
    dropout. All inputs are a single segment, so only the first segment embedding is used; the
    others are kept so that a checkpoint's weights load unchanged.

    Args:
        vocab_size: int, number of token ids.
        hidden_size: int, embedding width.
        max_position_embeddings: int, longest sequence the position table covers.
        type_vocab_size: int, number of segment embeddings in the checkpoint.
        layer_norm_epsilon: float, epsilon of the layer normalisation.
        dropout: float in [0, 1), dropout rate during training.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: int tensor `(batch, steps)` of token ids, `steps <= max_position_embeddings`.
        training: bool, whether dropout is active.

    Returns:
        Float tensor `(batch, steps, hidden_size)`.

    Example:
    >>> emb = BERTEmbeddings(vocab_size=100, hidden_size=16, max_position_embeddings=32)
    >>> print(emb(np.array([[2, 5, 0]])).shape)
    (1, 3, 16)
    """

    config_arguments = (
        "vocab_size",
        "hidden_size",
        "max_position_embeddings",
        "type_vocab_size",
        "layer_norm_epsilon",
        "dropout",
    )

    def __init__(
        self,
        vocab_size,
        hidden_size,
        max_position_embeddings=512,
        type_vocab_size=2,
        layer_norm_epsilon=1e-12,
        dropout=0.1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (
            ("vocab_size", vocab_size),
            ("hidden_size", hidden_size),
            ("max_position_embeddings", max_position_embeddings),
            ("type_vocab_size", type_vocab_size),
        ):
            check_positive_int(name, value)
        check_rate("dropout", dropout)
        check_epsilon(layer_norm_epsilon)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.layer_norm_epsilon = layer_norm_epsilon
        self.dropout = dropout
        self._dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)

    def build(self, input_shape):
        init = keras.initializers.TruncatedNormal(stddev=0.02)
        self.word_embeddings = self.add_weight(
            name="word_embeddings", shape=(self.vocab_size, self.hidden_size), initializer=init
        )
        self.position_embeddings = self.add_weight(
            name="position_embeddings",
            shape=(self.max_position_embeddings, self.hidden_size),
            initializer=init,
        )
        self.token_type_embeddings = self.add_weight(
            name="token_type_embeddings",
            shape=(self.type_vocab_size, self.hidden_size),
            initializer=init,
        )
        self.gamma = self.add_weight(name="gamma", shape=(self.hidden_size,), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(self.hidden_size,), initializer="zeros")

    def call(self, inputs, training=None):
        ids = ops.cast(inputs, "int32")
        steps = ops.shape(ids)[1]
        dtype = self.compute_dtype
        x = ops.cast(ops.take(self.word_embeddings, ids, axis=0), dtype)
        x = x + ops.cast(ops.expand_dims(self.position_embeddings[:steps], 0), dtype)
        x = x + ops.cast(self.token_type_embeddings[0], dtype)
        x = layer_norm(x, self.gamma, self.beta, self.layer_norm_epsilon)
        return self._dropout_layer(x, training=training)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.hidden_size)
