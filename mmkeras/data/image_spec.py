"""`ImageSpec`: how one image input is decoded, resized and (in training) augmented."""

import tensorflow as tf

from mmkeras.argument_checks import check_choice, check_positive_int
from mmkeras.data import file_checks
from mmkeras.data.image_ops import decode_image, decode_image_batch
from mmkeras.data.spec import Spec, check_augment

_RESIZE_METHODS = ("bilinear", "nearest", "bicubic", "area")


class ImageSpec(Spec):
    """Describes an image input of a `Pipeline`.

    The pipeline reads the file named in the manifest, decodes it with TensorFlow ops (JPEG, PNG,
    BMP, GIF first frame), converts it to `channels` channels and resizes it to `size`. The result
    is float32 in the raw pixel range 0..255 (the model's image branch normalises it).

    Args:
        size: `(height, width)` of the images the pipeline yields.
        channels: 3 (RGB; grayscale files are expanded) or 1 (grayscale; colour files converted).
        augment: optional `OpenCVAugment` applied to training batches only.
        max_pixels: images whose header says `height * width` is larger are rejected by
            validation without decoding them.
        resize_method: `"bilinear"`, `"nearest"`, `"bicubic"` or `"area"`.

    Example:
    >>> augment = mmkeras.data.OpenCVAugment(rotation=15, flip="horizontal")
    >>> spec = ImageSpec(size=(128, 128), augment=augment)
    """

    modality = "image"
    decodes_per_element = True

    def __init__(
        self,
        size=(224, 224),
        channels=3,
        augment=None,
        max_pixels=40_000_000,
        resize_method="bilinear",
    ):
        if (
            not isinstance(size, list | tuple)
            or len(size) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size)
        ):
            raise ValueError(
                f"ImageSpec: `size` must be (height, width) of two positive ints, received {size!r}."
            )
        self.size = tuple(size)
        self.channels = check_choice("channels", channels, (1, 3), "ImageSpec")
        self.max_pixels = check_positive_int("max_pixels", max_pixels, "ImageSpec")
        self.resize_method = check_choice(
            "resize_method", resize_method, _RESIZE_METHODS, "ImageSpec"
        )
        self.augment = check_augment(augment, "ImageSpec", "OpenCVAugment")

    @classmethod
    def from_pretrained(cls, pretrained, **kwargs):
        """An `ImageSpec` yielding images at the size a pretrained encoder takes.

        Pixels stay on the 0..255 scale: a pretrained branch normalises them as its checkpoint
        does, inside the model.

        The spec resizes whole images to that size (`resize_method`, bilinear by default);
        Hugging Face image processors resample with PIL and may resize the shorter side and
        centre-crop, so pixels of images at another size differ slightly from theirs.

        Args:
            pretrained: a branch (`mk.branches.pretrained`, `mk.branches.image_backbone`, or
                any model with one image input `(batch, height, width, channels)`, reloaded
                from a `.keras` file too): its input's size and channels; or a checkpoint (a
                keras-hub preset name, `"hf://org/name"`, a local folder): the size its image
                processor yields (the centre crop where it crops), as
                `mk.branches.pretrained(checkpoint)` takes by default.
            **kwargs: the other `ImageSpec` arguments (`augment`, `max_pixels`,
                `resize_method`); `size` comes from `pretrained`.

        Returns:
            An `ImageSpec`.

        Raises:
            ValueError: `size` among `kwargs`; a model without exactly one image input of
                fixed height and width; a checkpoint without an image encoder.

        Example:
        >>> branch = mmkeras.branches.image_backbone("mobilenetv2", input_shape=(96, 96, 3))
        >>> ImageSpec.from_pretrained(branch, resize_method="bicubic").size
        (96, 96)
        """
        if "size" in kwargs:
            raise ValueError(
                "ImageSpec.from_pretrained: `size` comes from the pretrained branch or "
                f"checkpoint; received size={kwargs['size']!r}. Use ImageSpec(size=...) for "
                "another size."
            )
        import keras

        if isinstance(pretrained, keras.Model):
            size, channels = _model_image_size(pretrained)
            kwargs.setdefault("channels", channels)
            return cls(size=size, **kwargs)
        from mmkeras.pretrained.family import family_for
        from mmkeras.pretrained.sources import resolve_source

        source = resolve_source(pretrained)
        family = family_for(source, "image")
        size = family.spec_arguments(source)["size"]
        return cls(size=tuple(int(d) for d in size), **kwargs)

    @property
    def shape(self):
        """Shape of one decoded image: `(height, width, channels)`."""
        return (*self.size, self.channels)

    # === Row checks ===

    @property
    def reads_file(self):
        return True

    def check_file(self, path, context):
        header = file_checks.image_header(path)
        pixels = header["width"] * header["height"]
        if pixels > self.max_pixels:
            detail = (
                f"{header['width']}x{header['height']} = {pixels} pixels > max_pixels "
                f"{self.max_pixels}"
            )
            return None, 0, ("image_too_large", detail, path)
        if context.deep:
            with open(path, "rb") as f:
                data = f.read()
            try:
                tf.io.decode_image(data, channels=3, expand_animations=False)
            except tf.errors.OpError as e:
                return None, 0, ("image_corrupt", e.message.splitlines()[0], path)
        return path, header["size"], None

    # === Decoding and augmentation ===

    def decode_batch(self, x):
        return decode_image_batch(x, self), tf.strings.length(x) > 0

    def decode_element(self, x):
        return decode_image(x, self)

    def augment_batch(self, x, seeds, index):
        if self.augment is None:
            return x
        image = tf.numpy_function(
            self.augment.augment_batch, [x, seeds], tf.float32, stateful=False
        )
        return tf.ensure_shape(image, (None, *self.shape))

    def record_value(self, x, image_dtype):
        # Pixels rounded to integers store 4x smaller; "float32" keeps them exact.
        return tf.cast(tf.round(x), tf.uint8) if image_dtype == "uint8" else x

    # === Config ===

    def get_config(self):
        return {
            "size": list(self.size),
            "channels": self.channels,
            "augment": self.augment_config(),
            "max_pixels": self.max_pixels,
            "resize_method": self.resize_method,
        }

    @classmethod
    def augment_class(cls):
        from mmkeras.data.opencv_augment import OpenCVAugment

        return OpenCVAugment

    def __repr__(self):
        return f"ImageSpec(size={self.size}, channels={self.channels}, augment={self.augment!r})"


def _model_image_size(model):
    """`((height, width), channels)` of the one image input of `model`."""
    shapes = [tuple(tensor.shape) for tensor in model.inputs]
    if len(shapes) != 1 or len(shapes[0]) != 4 or None in shapes[0][1:]:
        raise ValueError(
            f"ImageSpec.from_pretrained: model {model.name!r} must have one image input "
            f"(batch, height, width, channels) of fixed size; its inputs have shapes {shapes}."
        )
    _, height, width, channels = shapes[0]
    return (int(height), int(width)), int(channels)
