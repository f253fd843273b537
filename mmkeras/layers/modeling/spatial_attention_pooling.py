"""Learned attention pooling over the positions of a feature map."""

import keras
from keras import ops

from mmkeras.argument_checks import check_bool, check_positive_int
from mmkeras.layers.config_arguments import ConfigArgumentsMixin


@keras.saving.register_keras_serializable(package="mmkeras")
class SpatialAttentionPooling(ConfigArgumentsMixin, keras.layers.Layer):
    """Pools a feature map `(batch, height, width, channels)` with learned attention weights.

    Each head scores every position of the map, takes a softmax of the scores over the
    positions and returns the weighted sum of the feature vectors; the heads' results are
    concatenated. A score is a linear function of the position's features. With
    `positional=True` each position also has a learned score per head, so a head can look at a
    region of the image (where a stroke is) as well as at a kind of feature (what it is), and a
    learned embedding added to its features before they are summed, so the pooled vector says
    where what it pooled came from. Global average pooling throws the "where" away; this
    keeps some of it with far fewer weights than flattening the map.

    The position scores start random (standard deviation 1), so the heads start out looking at
    different soft regions; the position embeddings start at zero. With `positional=True` the
    height and width must be known when the layer is built.

    Args:
        num_heads: int, number of attention heads (each returns `channels` values).
        positional: bool, learn a score per position and head and an embedding per position
            (needs a known height and width); False scores by content only and accepts any
            map size.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, height, width, channels)`.

    Returns:
        Float tensor `(batch, num_heads * channels)`: head 0's pooled features, then head 1's,
        and so on.

    Example:
    >>> pool = SpatialAttentionPooling(num_heads=2)
    >>> print(pool(keras.random.normal((3, 4, 4, 8))).shape)
    (3, 16)
    """

    config_arguments = ("num_heads", "positional")

    def __init__(self, num_heads=4, positional=True, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = check_positive_int("num_heads", num_heads)
        self.positional = check_bool("positional", positional, allowed="True or False")

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(
                "SpatialAttentionPooling expects feature maps of shape (batch, height, width, "
                f"channels) with known channels; received input_shape={tuple(input_shape)}."
            )
        height, width, channels = input_shape[1:]
        self.score_kernel = self.add_weight(
            shape=(channels, self.num_heads), initializer="glorot_uniform", name="score_kernel"
        )
        if self.positional:
            if height is None or width is None:
                raise ValueError(
                    "SpatialAttentionPooling(positional=True) learns weights per position, so "
                    "the height and width of its input must be known; received "
                    f"input_shape={tuple(input_shape)}. Give the image branch a fixed "
                    "input_shape, or use positional=False."
                )
            self.position_scores = self.add_weight(
                shape=(height * width, self.num_heads),
                initializer=keras.initializers.RandomNormal(stddev=1.0),
                name="position_scores",
            )
            self.position_embedding = self.add_weight(
                shape=(height * width, channels), initializer="zeros", name="position_embedding"
            )
        self.built = True

    def call(self, inputs):
        shape = ops.shape(inputs)
        channels = inputs.shape[-1]
        positions = ops.reshape(inputs, (shape[0], shape[1] * shape[2], channels))
        scores = ops.matmul(positions, self.score_kernel)  # (batch, positions, heads)
        values = positions
        if self.positional:
            scores = scores + self.position_scores
            values = values + self.position_embedding
        # The softmax runs in float32: in half precision its sums over many positions round.
        weights = ops.cast(ops.softmax(ops.cast(scores, "float32"), axis=1), inputs.dtype)
        pooled = ops.einsum("bph,bpc->bhc", weights, values)
        return ops.reshape(pooled, (shape[0], self.num_heads * channels))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_heads * input_shape[-1])
