"""`CaptionDecoder`: the base class of the caption decoders."""

import keras

from mmkeras.argument_checks import check_bool, check_positive_int, check_rate
from mmkeras.layers.captioning._common import split_decoder_shapes
from mmkeras.layers.config_arguments import ConfigArgumentsMixin


class CaptionDecoder(ConfigArgumentsMixin, keras.layers.Layer):
    """Base of the layers called as `decoder((tokens, feature[, sequence[, mask]]))`.

    Every decoder returns next-token logits `(batch, steps, vocab_size)`, attends to the
    image's region sequence when `attention` is True, and uses `num_heads` heads and `dropout`;
    this class checks and keeps those arguments and computes the output shape. Subclasses
    check and keep their own arguments and implement `build` and `call`.
    """

    def __init__(self, vocab_size, num_heads, attention, dropout, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        self.num_heads = check_positive_int("num_heads", num_heads)
        self.dropout = check_rate("dropout", dropout)
        self.attention = check_bool("attention", attention)

    def split_shapes(self, input_shape):
        """`(tokens, feature, sequence, mask)` shapes of the inputs (None where absent)."""
        return split_decoder_shapes(type(self).__name__, input_shape, self.attention)

    def compute_output_shape(self, input_shape):
        return (*self.split_shapes(input_shape)[0], self.vocab_size)
