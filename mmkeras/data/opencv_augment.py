"""`OpenCVAugment`: random image augmentation for training batches, computed with OpenCV."""

import math

import numpy as np

from mmkeras.argument_checks import check_choice, check_fraction

_FLIPS = (None, "horizontal", "vertical", "both")


class OpenCVAugment:
    """Random geometric and photometric image augmentation, run with OpenCV on whole batches.

    The pipeline calls `augment_batch` once per batch through one `tf.numpy_function` inside a
    parallel `tf.data` map; OpenCV releases the GIL in its kernels, so batches are augmented on
    several cores at once. Every image gets its own generator seeded from
    `(seed, epoch, element index)`, so a run is reproducible whatever the parallelism.

    Geometry (rotation, scale, translation, flip) is composed into one affine matrix and applied
    with a single `cv2.warpAffine` (reflected borders). Then brightness, contrast, saturation and
    hue jitter, an optional Gaussian blur and one cutout square. Output stays float32 in 0..255.

    Args:
        rotation: float, maximum rotation in degrees (uniform in `[-rotation, rotation]`).
        scale: `(low, high)` zoom factors, or None for no zoom.
        translate: float, maximum shift as a fraction of width / height.
        flip: None, `"horizontal"`, `"vertical"` or `"both"`; each flip has probability 0.5.
        brightness: float, maximum added brightness as a fraction of 255.
        contrast: float, contrast factor drawn in `[1 - contrast, 1 + contrast]`.
        saturation: float, saturation factor drawn in `[1 - saturation, 1 + saturation]`.
        hue: float, maximum hue shift as a fraction of the colour circle (0..0.5).
        blur: float, probability of a Gaussian blur (kernel 3 or 5).
        cutout: float, side of one square set to the image mean, as a fraction of the shorter
            image side (0 turns it off).

    Example:
    >>> aug = OpenCVAugment(rotation=30, scale=(0.8, 1.2), translate=0.1, flip="horizontal",
    ...                     brightness=0.2, contrast=0.2, blur=0.1, cutout=0.1)
    >>> out = aug.augment_batch(images, seeds)   # images (B, H, W, C) float32, seeds (B, 3) int64
    """

    def __init__(
        self,
        rotation=0.0,
        scale=None,
        translate=0.0,
        flip=None,
        brightness=0.0,
        contrast=0.0,
        saturation=0.0,
        hue=0.0,
        blur=0.0,
        cutout=0.0,
    ):
        self.rotation = check_fraction("rotation", rotation, "OpenCVAugment", upper=180.0)
        if scale is not None:
            if (
                not isinstance(scale, list | tuple)
                or len(scale) != 2
                or not all(isinstance(s, int | float) and s > 0 for s in scale)
                or scale[0] > scale[1]
            ):
                raise ValueError(
                    "OpenCVAugment: `scale` must be None or (low, high) with 0 < low <= high, "
                    f"received {scale!r}."
                )
            scale = (float(scale[0]), float(scale[1]))
        self.scale = scale
        self.translate = check_fraction("translate", translate, "OpenCVAugment")
        self.flip = check_choice("flip", flip, _FLIPS, "OpenCVAugment")
        self.brightness = check_fraction("brightness", brightness, "OpenCVAugment")
        self.contrast = check_fraction("contrast", contrast, "OpenCVAugment")
        self.saturation = check_fraction("saturation", saturation, "OpenCVAugment")
        self.hue = check_fraction("hue", hue, "OpenCVAugment", upper=0.5)
        self.blur = check_fraction("blur", blur, "OpenCVAugment")
        self.cutout = check_fraction("cutout", cutout, "OpenCVAugment")

    def _affine(self, rng, height, width):
        angle = rng.uniform(-self.rotation, self.rotation) if self.rotation else 0.0
        zoom = rng.uniform(*self.scale) if self.scale else 1.0
        tx = rng.uniform(-self.translate, self.translate) * width if self.translate else 0.0
        ty = rng.uniform(-self.translate, self.translate) * height if self.translate else 0.0
        flip_h = self.flip in ("horizontal", "both") and rng.random() < 0.5
        flip_v = self.flip in ("vertical", "both") and rng.random() < 0.5
        if angle == 0.0 and zoom == 1.0 and tx == 0.0 and ty == 0.0 and not (flip_h or flip_v):
            return None
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        theta = math.radians(angle)
        a, b = zoom * math.cos(theta), zoom * math.sin(theta)
        matrix = np.array(
            [[a, b, (1 - a) * cx - b * cy + tx], [-b, a, b * cx + (1 - a) * cy + ty], [0, 0, 1]]
        )
        if flip_h:
            matrix = np.array([[-1, 0, width - 1], [0, 1, 0], [0, 0, 1]]) @ matrix
        if flip_v:
            matrix = np.array([[1, 0, 0], [0, -1, height - 1], [0, 0, 1]]) @ matrix
        return matrix[:2]

    def augment_image(self, image, rng):
        """Augments one float32 image `(H, W, C)` with the generator `rng`; returns a new array."""
        import cv2

        height, width, channels = image.shape
        out = image
        matrix = self._affine(rng, height, width)
        if matrix is not None:
            out = cv2.warpAffine(
                out,
                matrix,
                (width, height),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT_101,
            )
            out = out.reshape(height, width, channels)
        if self.contrast or self.brightness:
            factor = rng.uniform(1 - self.contrast, 1 + self.contrast) if self.contrast else 1.0
            delta = rng.uniform(-self.brightness, self.brightness) * 255.0 if self.brightness else 0
            mean = float(out.mean())
            out = (out - mean) * factor + (mean + delta)
        if channels == 3 and self.saturation:
            factor = rng.uniform(1 - self.saturation, 1 + self.saturation)
            gray = out @ np.array([0.299, 0.587, 0.114], np.float32)
            out = gray[..., None] + (out - gray[..., None]) * factor
        if channels == 3 and self.hue:
            shift = rng.uniform(-self.hue, self.hue) * 360.0
            hsv = cv2.cvtColor(np.clip(out, 0, 255).astype(np.float32) / 255.0, cv2.COLOR_RGB2HSV)
            hsv[..., 0] = np.mod(hsv[..., 0] + shift, 360.0)
            out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * 255.0
        if self.blur and rng.random() < self.blur:
            kernel = int(rng.choice([3, 5]))
            out = cv2.GaussianBlur(np.ascontiguousarray(out, np.float32), (kernel, kernel), 0)
            out = out.reshape(height, width, channels)
        if self.cutout:
            side = max(1, int(round(self.cutout * min(height, width))))
            y = int(rng.integers(0, height - side + 1))
            x = int(rng.integers(0, width - side + 1))
            out = np.array(out, np.float32, copy=True)
            out[y : y + side, x : x + side] = out.mean(axis=(0, 1))
        return np.clip(out, 0.0, 255.0).astype(np.float32, copy=False)

    def augment_batch(self, images, seeds):
        """Augments a batch.

        Args:
            images: float32 array `(B, H, W, C)` in 0..255.
            seeds: int64 array `(B, k)` of non-negative ints, one row per image (the pipeline
                passes `(seed, epoch, element index)`).

        Returns:
            float32 array `(B, H, W, C)`.
        """
        images = np.asarray(images, np.float32)
        out = np.empty_like(images)
        for i in range(images.shape[0]):
            rng = np.random.default_rng([int(s) for s in seeds[i]])
            out[i] = self.augment_image(images[i], rng)
        return out

    def get_config(self):
        return {
            "rotation": self.rotation,
            "scale": None if self.scale is None else list(self.scale),
            "translate": self.translate,
            "flip": self.flip,
            "brightness": self.brightness,
            "contrast": self.contrast,
            "saturation": self.saturation,
            "hue": self.hue,
            "blur": self.blur,
            "cutout": self.cutout,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        active = {k: v for k, v in self.get_config().items() if v not in (None, 0.0)}
        return "OpenCVAugment(" + ", ".join(f"{k}={v!r}" for k, v in active.items()) + ")"
