"""AV-Digits: the small image + audio + text digit dataset bundled with mmkeras."""

import csv
import wave
from pathlib import Path

import numpy as np

_DATA_DIR = Path(__file__).resolve().parent / "av_digits"
_SPLITS = ("train", "validation", "test")


class AVDigits:
    """The files of the AV-Digits dataset and a reader for them.

    Each sample is one digit 0-9 seen three ways, none of them decisive alone: a 32x32
    grayscale PNG of a real handwritten scan with occluding blocks and noise, a noisy 8 kHz
    WAV clip of the digit spoken by a speech synthesiser (sometimes over a second voice saying
    another digit), and a short text clue such as "an odd number below five". The manifests
    (`train.csv`, `validation.csv`, `test.csv`) have the columns `image`, `audio`, `text` and
    `label`; `image` and `audio` are paths relative to `root`, `label` is the digit written as
    the class name "0".."9", so its index in `labels` is the digit itself.

    Use `load_av_digits()` rather than building this object yourself. The dataset card is
    `root / "README.md"`.

    Args:
        root: folder holding the manifests, `images/` and `audio/`.

    Attributes:
        root: `pathlib.Path` of the data folder.
        train, validation, test: `pathlib.Path` of each split's CSV manifest.
        schema: dict mapping modality to manifest column, for `mk.data.Pipeline(schema=...)`.
        labels: list of the ten class names, `"0"` to `"9"`.
        sample_rate: int, audio sample rate in Hz (8000).
        duration: float, seconds every clip fits in (clips are 0.6-1.0 s long).
        image_size: tuple `(height, width)` of the images, `(32, 32)`.
        channels: int, channels stored in the PNG files (1, grayscale).

    Example:
    >>> data = mmkeras.datasets.load_av_digits()
    >>> arrays = data.as_arrays("train")
    >>> arrays["image"].shape, arrays["audio"].shape
    ((1257, 32, 32, 1), (1257, 8000))
    """

    sample_rate = 8000
    duration = 1.0
    image_size = (32, 32)
    channels = 1

    def __init__(self, root):
        self.root = Path(root)
        self.schema = {"image": "image", "text": "text", "audio": "audio", "label": "label"}
        self.labels = [str(d) for d in range(10)]
        missing = [s for s in _SPLITS if not (self.root / f"{s}.csv").is_file()]
        if missing:
            raise FileNotFoundError(
                f"AV-Digits manifests {missing} not found in {self.root}; regenerate the data "
                "with `python scripts/make_av_digits.py` or reinstall mmkeras with its package data."
            )
        self.train = self.root / "train.csv"
        self.validation = self.root / "validation.csv"
        self.test = self.root / "test.csv"

    def __repr__(self):
        return f"AVDigits(root={str(self.root)!r})"

    def manifest(self, split):
        """Path of the CSV manifest of `split` ("train", "validation" or "test")."""
        if split not in _SPLITS:
            raise ValueError(
                f"Argument `split` must be one of {list(_SPLITS)}; received {split!r}."
            )
        return getattr(self, split)

    def rows(self, split):
        """The manifest rows of `split` as a list of dicts (paths as written, relative to `root`)."""
        with open(self.manifest(split), newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))

    def as_arrays(self, split, audio_length=None, channels=1):
        """Reads a whole split into numpy arrays, for code that skips the file pipeline.

        Args:
            split: "train", "validation" or "test".
            audio_length: int, number of samples every clip is zero-padded or cropped to.
                Defaults to `sample_rate * duration` (8000), which keeps every clip whole.
            channels: 1 for grayscale images, 3 to repeat the gray level into RGB.

        Returns:
            dict with `"image"`: uint8 `(N, 32, 32, channels)` on the 0..255 scale,
            `"audio"`: float32 `(N, audio_length)` in -1..1, `"text"`: list of N str,
            `"label"`: int64 `(N,)` class indices (the digits).
        """
        import cv2

        if audio_length is None:
            audio_length = int(round(self.sample_rate * self.duration))
        if not isinstance(audio_length, (int, np.integer)) or audio_length < 1:
            raise ValueError(
                f"Argument `audio_length` must be a positive int; received {audio_length!r}."
            )
        if channels not in (1, 3):
            raise ValueError(f"Argument `channels` must be 1 or 3; received {channels!r}.")
        rows = self.rows(split)
        images = np.zeros((len(rows), *self.image_size, channels), np.uint8)
        audio = np.zeros((len(rows), audio_length), np.float32)
        for n, row in enumerate(rows):
            path = self.root / row["image"]
            image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if image is None:
                raise ValueError(f"Row {n} of {split}: cannot decode image {path}.")
            images[n] = image[..., None]
            samples = _read_wav(self.root / row["audio"])[:audio_length]
            audio[n, : samples.size] = samples
        return {
            "image": images,
            "audio": audio,
            "text": [row["text"] for row in rows],
            "label": np.array([self.labels.index(row["label"]) for row in rows], np.int64),
        }


def _read_wav(path):
    with wave.open(str(path), "rb") as f:
        if f.getsampwidth() != 2 or f.getnchannels() != 1:
            raise ValueError(f"{path} is not 16-bit mono PCM.")
        data = f.readframes(f.getnframes())
    return np.frombuffer(data, "<i2").astype(np.float32) / 32768.0


def load_av_digits(root=None):
    """Returns the bundled AV-Digits dataset (files, splits and a numpy reader).

    Args:
        root: optional folder holding a copy of the dataset; defaults to the copy installed
            with mmkeras.

    Returns:
        An `AVDigits` with attributes `root`, `train`, `validation`, `test` (manifest paths),
        `schema`, `labels`, `sample_rate`, `image_size` and the method `as_arrays(split)`.

    Example:
    >>> data = mmkeras.datasets.load_av_digits()
    >>> pipe = mmkeras.data.Pipeline(
    ...     schema=data.schema,
    ...     image=mmkeras.data.ImageSpec(size=data.image_size, channels=data.channels),
    ...     audio=mmkeras.data.AudioSpec(sample_rate=data.sample_rate, duration=data.duration),
    ...     text=mmkeras.data.TextSpec(max_length=8, vocab_size=400))
    >>> pipe.adapt(data.train)
    ValidationReport('...train.csv: all 1257 rows are usable.')
    >>> val_ds = pipe.dataset(data.validation, batch_size=32)
    >>> inputs, labels = next(iter(val_ds))
    >>> print(inputs["image"].shape, inputs["audio"].shape, inputs["text"].shape)
    (32, 32, 32, 1) (32, 8000) (32, 8)
    """
    return AVDigits(_DATA_DIR if root is None else root)
