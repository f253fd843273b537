"""Token embedding plus a learned position embedding."""

import keras
from keras import ops

from mmkeras.argument_checks import check_positive_int
from mmkeras.layers.config_arguments import ConfigArgumentsMixin


@keras.saving.register_keras_serializable(package="mmkeras")
class TokenAndPositionEmbedding(ConfigArgumentsMixin, keras.layers.Layer):
    """Embeds token ids and adds a learned embedding of each position.

    Sequences may be shorter than `max_length` (the first positions of the table are used)
    but not longer.

    Args:
        vocab_size: int, number of token ids (ids are in `[0, vocab_size)`).
        max_length: int, longest sequence the position table covers.
        embedding_dim: int, size of each embedding.
        embeddings_initializer: initializer of both tables.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: int tensor `(batch, steps)` of token ids, `steps <= max_length`.

    Returns:
        Float tensor `(batch, steps, embedding_dim)`.

    Example:
    >>> layer = TokenAndPositionEmbedding(vocab_size=100, max_length=16, embedding_dim=8)
    >>> print(layer(np.array([[5, 9, 0]])).shape)
    (1, 3, 8)
    """

    config_arguments = ("vocab_size", "max_length", "embedding_dim", "embeddings_initializer")

    def __init__(
        self,
        vocab_size,
        max_length,
        embedding_dim,
        embeddings_initializer="uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        self.max_length = check_positive_int("max_length", max_length)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.token_embedding = keras.layers.Embedding(
            vocab_size,
            embedding_dim,
            embeddings_initializer=self.embeddings_initializer,
            dtype=self.dtype_policy,
            name="token_embedding",
        )

    def build(self, input_shape):
        steps = input_shape[-1]
        if steps is not None and steps > self.max_length:
            raise ValueError(
                f"TokenAndPositionEmbedding got sequences of length {steps}, longer than "
                f"max_length={self.max_length}; raise `max_length` or truncate the input."
            )
        self.token_embedding.build(input_shape)
        self.position_embeddings = self.add_weight(
            shape=(self.max_length, self.embedding_dim),
            initializer=self.embeddings_initializer,
            name="position_embeddings",
        )
        self.built = True

    def call(self, inputs):
        tokens = self.token_embedding(inputs)
        steps = ops.shape(inputs)[-1]
        positions = ops.cast(self.position_embeddings[:steps], tokens.dtype)
        return tokens + ops.expand_dims(positions, axis=0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.embedding_dim)
