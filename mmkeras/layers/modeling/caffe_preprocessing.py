"""Caffe-style ImageNet preprocessing as a layer."""

import keras
from keras import ops

# Per-channel ImageNet means in BGR order, on the 0..255 pixel scale.
_IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="mmkeras")
class CaffePreprocessing(keras.layers.Layer):
    """Converts RGB images on the 0..255 scale to the "caffe" input of ResNet50.

    The channels are reordered from RGB to BGR and the ImageNet mean of each channel is
    subtracted, without scaling. This is what `keras.applications.resnet50.preprocess_input`
    does, written as a serializable layer so that models using it load with `safe_mode=True`.

    Args:
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, height, width, 3)`, RGB, values in 0..255.

    Returns:
        Float tensor of the same shape, BGR, zero-centred per channel.

    Example:
    >>> images = keras.random.uniform((2, 32, 32, 3), maxval=255.0)
    >>> print(CaffePreprocessing()(images).shape)
    (2, 32, 32, 3)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def build(self, input_shape):
        if input_shape[-1] != 3:
            raise ValueError(
                "CaffePreprocessing expects RGB images with 3 channels; received input_shape="
                f"{tuple(input_shape)}."
            )
        self.built = True

    def call(self, inputs):
        inputs = ops.cast(inputs, self.compute_dtype)
        bgr = ops.flip(inputs, axis=-1)
        mean = ops.convert_to_tensor(_IMAGENET_BGR_MEAN, dtype=self.compute_dtype)
        return bgr - mean

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)
