"""Vision Transformer input: image patches embedded, an optional class token, learned positions."""

import keras
from keras import ops

from mmkeras.argument_checks import check_bool, check_positive_int
from mmkeras.layers.config_arguments import ConfigArgumentsMixin


@keras.saving.register_keras_serializable(package="mmkeras")
class PatchEmbedding(ConfigArgumentsMixin, keras.layers.Layer):
    """Cuts an image into square patches, embeds each linearly, adds a learned position embedding.

    The patches are read row by row (left to right, top to bottom), as CLIP's and SigLIP's
    vision towers read them. With `class_token=True` a learned class embedding is put before the
    patches (CLIP); without it the sequence holds the patches only (SigLIP). Positions are
    learned per patch (and for the class token), so the image size is fixed when the layer is
    built.

    Args:
        hidden_dim: int, size of each embedding.
        patch_size: int, side of the square patches in pixels; it must divide the image size.
        class_token: bool, put a learned class embedding first.
        use_bias: bool, whether the patch projection has a bias.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, height, width, channels)`.

    Returns:
        Float tensor `(batch, positions, hidden_dim)`, `positions` the number of patches, plus
        one with a class token.

    Example:
    >>> layer = PatchEmbedding(hidden_dim=8, patch_size=4, class_token=True)
    >>> print(layer(np.zeros((2, 16, 16, 3), "float32")).shape)  # 16 patches and the class token
    (2, 17, 8)
    """

    config_arguments = ("hidden_dim", "patch_size", "class_token", "use_bias")

    def __init__(self, hidden_dim, patch_size, class_token=True, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim = check_positive_int("hidden_dim", hidden_dim, "PatchEmbedding")
        self.patch_size = check_positive_int("patch_size", patch_size, "PatchEmbedding")
        self.class_token = check_bool("class_token", class_token, "PatchEmbedding")
        self.use_bias = check_bool("use_bias", use_bias, "PatchEmbedding")
        self.projection = keras.layers.Conv2D(
            hidden_dim,
            kernel_size=patch_size,
            strides=patch_size,
            padding="valid",
            use_bias=use_bias,
            data_format="channels_last",
            dtype=self.dtype_policy,
            name="projection",
        )

    def _grid(self, input_shape):
        height, width = input_shape[1], input_shape[2]
        if height is None or width is None:
            raise ValueError(
                "PatchEmbedding needs a known image height and width (its position embeddings "
                f"are one per patch); received input_shape={tuple(input_shape)}."
            )
        if height % self.patch_size or width % self.patch_size:
            raise ValueError(
                f"PatchEmbedding: patch_size={self.patch_size} must divide the image size; "
                f"received {height}x{width}."
            )
        return height // self.patch_size, width // self.patch_size

    def build(self, input_shape):
        rows, cols = self._grid(input_shape)
        self.num_patches = rows * cols
        self.projection.build(input_shape)
        if self.class_token:
            self.class_embedding = self.add_weight(
                shape=(self.hidden_dim,),
                initializer=keras.initializers.RandomNormal(stddev=0.02),
                name="class_embedding",
            )
        self.position_embedding = self.add_weight(
            shape=(self.num_patches + int(self.class_token), self.hidden_dim),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="position_embedding",
        )
        self.built = True

    def call(self, inputs):
        patches = self.projection(inputs)
        batch = ops.shape(patches)[0]
        patches = ops.reshape(patches, (batch, self.num_patches, self.hidden_dim))
        if self.class_token:
            first = ops.cast(self.class_embedding, patches.dtype)
            first = ops.broadcast_to(ops.reshape(first, (1, 1, -1)), (batch, 1, self.hidden_dim))
            patches = ops.concatenate([first, patches], axis=1)
        positions = ops.cast(self.position_embedding, patches.dtype)
        return patches + ops.expand_dims(positions, axis=0)

    def compute_output_shape(self, input_shape):
        rows, cols = self._grid(input_shape)
        return (input_shape[0], rows * cols + int(self.class_token), self.hidden_dim)
