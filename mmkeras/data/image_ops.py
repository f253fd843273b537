"""Deterministic image decoding with TensorFlow ops (shared by training, evaluation and export)."""

import tensorflow as tf


def decode_image(data, spec):
    """Decodes one encoded image and resizes it.

    JPEG, PNG, BMP and GIF (first frame) are decoded to RGB, converted to the spec's channels
    (grayscale files are expanded to 3 channels; colour files are converted for `channels=1`),
    resized with the spec's method and clipped to 0..255. An empty string (an absent image)
    gives zeros.

    Args:
        data: scalar tf.string, the file's bytes.
        spec: an `ImageSpec`.

    Returns:
        float32 tensor `spec.shape`, values in 0..255.
    """

    def _decode():
        image = tf.io.decode_image(data, channels=3, expand_animations=False, dtype=tf.uint8)
        if spec.channels == 1:
            image = tf.image.rgb_to_grayscale(image)
        image = tf.image.resize(tf.cast(image, tf.float32), spec.size, method=spec.resize_method)
        return tf.clip_by_value(image, 0.0, 255.0)

    image = tf.cond(tf.strings.length(data) > 0, _decode, lambda: tf.zeros(spec.shape, tf.float32))
    return tf.ensure_shape(image, spec.shape)


def decode_image_batch(data, spec):
    """Applies `decode_image` to a batch of encoded images `(B,)` -> `(B, H, W, C)` float32."""
    return tf.map_fn(
        lambda d: decode_image(d, spec),
        data,
        fn_output_signature=tf.TensorSpec(spec.shape, tf.float32),
    )
