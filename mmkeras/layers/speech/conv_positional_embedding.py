"""The convolutional relative positional embedding of wav2vec2 and HuBERT."""

import keras
from keras import ops

from mmkeras.argument_checks import check_bool, check_positive_int
from mmkeras.layers.bert._ops import activate, check_activation
from mmkeras.layers.config_arguments import ConfigArgumentsMixin
from mmkeras.layers.split_width import split_width

# torch's BatchNorm1d defaults (HuBERT's `conv_pos_batch_norm`): epsilon, and 1 - its momentum.
BATCH_NORM_EPSILON = 1e-5
BATCH_NORM_MOMENTUM = 0.9


@keras.saving.register_keras_serializable(package="mmkeras")
class ConvPositionalEmbedding(ConfigArgumentsMixin, keras.layers.Layer):
    """Adds a grouped convolution of the sequence to itself: `x + act(conv(x))`.

    The convolution runs over time with `kernel_size` taps and `groups` channel groups, padded
    by `kernel_size // 2` frames on each side; an even kernel gives one frame too many, and
    the last is dropped, so the output has the input's length. wav2vec2 checkpoints store the
    kernel weight-normalised (a magnitude per tap and a direction); it is folded into a plain
    kernel when loaded, which gives the same outputs. With `batch_norm=True` (HuBERT's
    `conv_pos_batch_norm`) the sequence is batch-normalised before the convolution.

    Frames where `mask` is False are set to zero first (before and after the batch norm), so
    the frames after a clip's end are zeros exactly as the convolution's own padding is: real
    frames come out the same however much padding follows them.

    Args:
        kernel_size: int, the taps of the convolution (`num_conv_pos_embeddings`).
        groups: int, the channel groups (`num_conv_pos_embedding_groups`); must divide the
            input width.
        activation: str, the checkpoint's `feat_extract_activation` ("gelu" is exact GELU).
        batch_norm: bool, whether to batch-normalise the sequence before the convolution.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, frames, hidden)`.
        mask: optional bool tensor `(batch, frames)`, True at real frames.
        training: bool, whether the batch norm uses batch statistics.

    Returns:
        Float tensor `(batch, frames, hidden)`.

    Example:
    >>> layer = ConvPositionalEmbedding(kernel_size=4, groups=2)
    >>> print(layer(np.ones((1, 6, 8), "float32")).shape)
    (1, 6, 8)
    """

    config_arguments = ("kernel_size", "groups", "activation", "batch_norm")

    def __init__(self, kernel_size, groups=1, activation="gelu", batch_norm=False, **kwargs):
        super().__init__(**kwargs)
        where = "ConvPositionalEmbedding"
        self.kernel_size = check_positive_int("kernel_size", kernel_size, where)
        self.groups = check_positive_int("groups", groups, where)
        self.activation = check_activation(activation)
        self.batch_norm = check_bool("batch_norm", batch_norm, where)
        self.supports_masking = True
        if batch_norm:
            self.norm = keras.layers.BatchNormalization(
                epsilon=BATCH_NORM_EPSILON,
                momentum=BATCH_NORM_MOMENTUM,
                dtype=self.dtype_policy,
                name="batch_norm",
            )

    def build(self, input_shape):
        hidden = input_shape[-1]
        split_width(input_shape, self.groups, "groups", "ConvPositionalEmbedding", rank=3)
        self.conv = keras.layers.Conv1D(
            hidden, self.kernel_size, groups=self.groups, dtype=self.dtype_policy, name="conv"
        )
        padded = None if input_shape[1] is None else input_shape[1] + 2 * (self.kernel_size // 2)
        self.conv.build((input_shape[0], padded, hidden))
        if self.batch_norm:
            self.norm.build(input_shape)
        self.built = True

    def call(self, inputs, mask=None, training=None):
        keep = None if mask is None else ops.cast(mask, inputs.dtype)[:, :, None]
        x = inputs if keep is None else inputs * keep
        conv_input = x
        if self.batch_norm:
            conv_input = self.norm(x, training=training, mask=mask)
            if keep is not None:
                conv_input = conv_input * keep
        pad = self.kernel_size // 2
        conv_input = ops.pad(conv_input, ((0, 0), (pad, pad), (0, 0)))
        embedding = self.conv(conv_input)
        if self.kernel_size % 2 == 0:
            embedding = embedding[:, :-1, :]
        return x + activate(embedding, self.activation)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)
