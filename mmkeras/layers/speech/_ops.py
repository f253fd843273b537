"""Length arithmetic shared by the speech layers: real lengths of zero-padded waveforms, frame
counts of a convolution stack, and masks built from lengths."""

from keras import ops

from mmkeras.argument_checks import check_positive_ints


def check_conv_layout(conv_kernel, conv_stride, where):
    """Checks a stack's kernel sizes and strides (one each per layer); returns two tuples."""
    conv_kernel = check_positive_ints("conv_kernel", conv_kernel, where)
    conv_stride = check_positive_ints("conv_stride", conv_stride, where)
    if len(conv_kernel) != len(conv_stride):
        raise ValueError(
            f"{where}: `conv_kernel` and `conv_stride` need one entry per convolution; received "
            f"{len(conv_kernel)} kernel sizes and {len(conv_stride)} strides."
        )
    return conv_kernel, conv_stride


def real_lengths(waveform):
    """int32 `(batch,)`: the samples of each row up to and including its last nonzero one.

    Waveforms are padded with zeros at the end, so this is the length before padding (a clip
    whose own last samples are exactly zero counts them as padding; they are digital silence).
    A row with no nonzero sample (silence) is real over its whole length: nothing shows where
    its padding would start.
    """
    steps = ops.shape(waveform)[1]
    positions = ops.arange(1, steps + 1, dtype="int32")
    nonzero = ops.not_equal(waveform, ops.cast(0, waveform.dtype))
    last = ops.max(ops.where(nonzero, positions[None, :], 0), axis=1)
    return ops.where(last > 0, last, ops.cast(steps, "int32"))


def conv_output_length(length, kernel_size, stride):
    """Steps out of an unpadded convolution; works on Python ints and on int tensors."""
    if length is None:
        return None
    if isinstance(length, int):
        return max((length - kernel_size) // stride + 1, 0)
    return ops.maximum((length - kernel_size) // stride + 1, 0)


def stack_output_length(length, conv_kernel, conv_stride):
    """Steps out of a stack of unpadded convolutions."""
    for kernel_size, stride in zip(conv_kernel, conv_stride, strict=True):
        length = conv_output_length(length, kernel_size, stride)
    return length


def length_mask(lengths, steps):
    """bool `(batch, steps)`: True at the first `lengths[i]` positions of row `i`."""
    positions = ops.arange(steps, dtype="int32")
    return ops.less(positions[None, :], ops.cast(lengths, "int32")[:, None])
