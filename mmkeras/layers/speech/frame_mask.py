"""Which frames of a convolution stack's output come from real (not padded) samples."""

import keras
from keras import ops

from mmkeras.layers.config_arguments import ConfigArgumentsMixin
from mmkeras.layers.speech._ops import check_conv_layout, length_mask, stack_output_length


@keras.saving.register_keras_serializable(package="mmkeras")
class FrameMask(ConfigArgumentsMixin, keras.layers.Layer):
    """Returns True at the frames that a waveform's real samples produce.

    A stack of unpadded convolutions turns `n` samples into `f(n)` frames, `f` applying
    `floor((n - kernel) / stride) + 1` per layer; frame `t` of row `i` is real when
    `t < f(lengths[i])`.

    Args:
        conv_kernel: tuple of ints, the kernel size of each convolution.
        conv_stride: tuple of ints, the stride of each convolution.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: tensor `(batch, frames, ...)`, the stack's output (its frame axis is read).
        lengths: int tensor `(batch,)`, the real samples of each row.

    Returns:
        Bool tensor `(batch, frames)`.

    Example:
    >>> frames = np.zeros((2, 3, 4), "float32")  # 3 frames of 20 samples, stride 10
    >>> mask = FrameMask(conv_kernel=(20,), conv_stride=(10,))(frames, lengths=np.array([40, 25]))
    >>> keras.ops.convert_to_numpy(mask)
    array([[ True,  True,  True],
           [ True, False, False]])
    """

    config_arguments = ("conv_kernel", "conv_stride")

    def __init__(self, conv_kernel, conv_stride, **kwargs):
        super().__init__(**kwargs)
        self.conv_kernel, self.conv_stride = check_conv_layout(
            conv_kernel, conv_stride, "FrameMask"
        )
        # Its input may carry a Keras mask (the frames'); the output is itself a mask.
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(
                "FrameMask expects frames of shape (batch, frames, ...); received "
                f"input_shape={tuple(input_shape)}."
            )
        self.built = True

    def call(self, inputs, lengths):
        frames = stack_output_length(ops.cast(lengths, "int32"), self.conv_kernel, self.conv_stride)
        return length_mask(frames, ops.shape(inputs)[1])

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:2])

    def compute_output_spec(self, inputs, lengths):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype="bool")
