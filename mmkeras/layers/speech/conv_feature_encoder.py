"""The convolutional feature encoder of wav2vec2 and HuBERT: waveform samples -> frames."""

import keras
from keras import ops

from mmkeras.argument_checks import check_bool, check_choice, check_positive_ints
from mmkeras.layers.bert._ops import activate, check_activation
from mmkeras.layers.config_arguments import ConfigArgumentsMixin
from mmkeras.layers.speech._ops import (
    check_conv_layout,
    conv_output_length,
    length_mask,
    stack_output_length,
)

NORMS = ("group", "layer")
# torch's GroupNorm and LayerNorm default, which the reference's convolution stack keeps.
NORM_EPSILON = 1e-5


@keras.saving.register_keras_serializable(package="mmkeras")
class ConvFeatureEncoder(ConfigArgumentsMixin, keras.layers.Layer):
    """A stack of strided 1-D convolutions over a waveform, each followed by its activation.

    With `norm="group"` (wav2vec2-base, HuBERT-base) the first convolution's output is
    normalised per channel over time (a group norm with one group per channel) and the other
    convolutions have no normalisation; with `norm="layer"` (wav2vec2-large-lv60, HuBERT-large)
    every convolution's output is layer-normalised over its channels. The convolutions are
    unpadded, so `samples` give `floor((samples - kernel) / stride) + 1` frames per layer (320
    samples per frame, 400 samples of receptive field with the released layout).

    When `lengths` is given, the per-channel statistics of the group norm cover the frames that
    only real samples produced, so a clip's frames are the same however much zero padding
    follows it (the layer norm acts on each frame alone and needs no lengths).

    Args:
        conv_dim: tuple of ints, the channels of each convolution.
        conv_kernel: tuple of ints, the kernel size of each convolution.
        conv_stride: tuple of ints, the stride of each convolution.
        conv_bias: bool, whether the convolutions have a bias.
        norm: `"group"` or `"layer"` (the checkpoint's `feat_extract_norm`).
        activation: str, the checkpoint's `feat_extract_activation` ("gelu" is exact GELU).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, samples)`.
        lengths: optional int tensor `(batch,)`, the real samples of each row.

    Returns:
        Float tensor `(batch, frames, conv_dim[-1])`.

    Example:
    >>> encoder = ConvFeatureEncoder(conv_dim=(4, 4), conv_kernel=(10, 3), conv_stride=(5, 2))
    >>> print(encoder(np.zeros((2, 400), "float32")).shape)
    (2, 39, 4)
    """

    config_arguments = ("conv_dim", "conv_kernel", "conv_stride", "conv_bias", "norm", "activation")

    def __init__(
        self,
        conv_dim,
        conv_kernel,
        conv_stride,
        conv_bias=False,
        norm="group",
        activation="gelu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        where = "ConvFeatureEncoder"
        self.conv_dim = check_positive_ints("conv_dim", conv_dim, where)
        self.conv_kernel, self.conv_stride = check_conv_layout(conv_kernel, conv_stride, where)
        if len(self.conv_dim) != len(self.conv_kernel):
            raise ValueError(
                f"{where}: `conv_dim`, `conv_kernel` and `conv_stride` need one entry per "
                f"convolution; received {len(self.conv_dim)} channel counts and "
                f"{len(self.conv_kernel)} kernel sizes."
            )
        self.conv_bias = check_bool("conv_bias", conv_bias, where)
        self.norm = check_choice("norm", norm, NORMS, where)
        self.activation = check_activation(activation)
        self.conv_layers = [
            keras.layers.Conv1D(
                filters,
                kernel_size,
                strides=stride,
                use_bias=conv_bias,
                dtype=self.dtype_policy,
                name=f"conv_{index}",
            )
            for index, (filters, kernel_size, stride) in enumerate(
                zip(self.conv_dim, self.conv_kernel, self.conv_stride, strict=True)
            )
        ]
        if norm == "layer":
            self.layer_norms = [
                keras.layers.LayerNormalization(
                    epsilon=NORM_EPSILON, dtype=self.dtype_policy, name=f"layer_norm_{index}"
                )
                for index in range(len(self.conv_dim))
            ]

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                "ConvFeatureEncoder expects waveforms of shape (batch, samples); received "
                f"input_shape={tuple(input_shape)}."
            )
        shape = (input_shape[0], input_shape[1], 1)
        for index, conv in enumerate(self.conv_layers):
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            if self.norm == "layer":
                self.layer_norms[index].build(shape)
        if self.norm == "group":
            channels = self.conv_dim[0]
            self.group_norm_gamma = self.add_weight(
                name="group_norm_gamma", shape=(channels,), initializer="ones"
            )
            self.group_norm_beta = self.add_weight(
                name="group_norm_beta", shape=(channels,), initializer="zeros"
            )
        self.built = True

    def _group_norm(self, x, lengths):
        # One group per channel: each channel is standardised over the (real) frames.
        x32 = ops.cast(x, "float32")
        if lengths is None:
            weights = ops.ones_like(x32[:, :, :1])
        else:
            steps = ops.shape(x32)[1]
            first = conv_output_length(lengths, self.conv_kernel[0], self.conv_stride[0])
            weights = ops.cast(length_mask(first, steps), "float32")[:, :, None]
        count = ops.maximum(ops.sum(weights, axis=1, keepdims=True), 1.0)
        mean = ops.sum(x32 * weights, axis=1, keepdims=True) / count
        variance = ops.sum(ops.square(x32 - mean) * weights, axis=1, keepdims=True) / count
        normed = ops.cast((x32 - mean) / ops.sqrt(variance + NORM_EPSILON), x.dtype)
        return normed * ops.cast(self.group_norm_gamma, x.dtype) + ops.cast(
            self.group_norm_beta, x.dtype
        )

    def call(self, inputs, lengths=None):
        x = ops.expand_dims(inputs, axis=-1)
        for index, conv in enumerate(self.conv_layers):
            x = conv(x)
            if self.norm == "group" and index == 0:
                x = self._group_norm(x, lengths)
            elif self.norm == "layer":
                x = self.layer_norms[index](x)
            x = activate(x, self.activation)
        return x

    def frame_lengths(self, lengths):
        """The frames that `lengths` samples give (ints or an int tensor)."""
        return stack_output_length(lengths, self.conv_kernel, self.conv_stride)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.frame_lengths(input_shape[1]), self.conv_dim[-1])
