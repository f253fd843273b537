"""What the files and texts of a table look like: image sizes, audio rates, text lengths.

The `Predictor` sizes its inputs from these facts (a sample of the training rows), so a table
of 32x32 grayscale digits is read at 32x32 in one channel, and 8 kHz speech at 8 kHz.
"""

import wave

import numpy as np

from mmkeras.auto.tables import absolute_path

SAMPLE = 64


def _sample(values, base_dir):
    paths = [absolute_path(v, base_dir) for v in values if v.strip()]
    step = max(1, len(paths) // SAMPLE)
    return paths[::step][:SAMPLE]


def probe_images(values, base_dir):
    """`{"size": (h, w), "channels": 1 | 3}`: the median size and whether all are grayscale.

    Files that cannot be read are left out here (the pipeline reports them, row by row).
    """
    import cv2

    sizes, channels = [], []
    for path in _sample(values, base_dir):
        image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if image is None:
            continue
        sizes.append(image.shape[:2])
        gray = image.ndim == 2 or image.shape[2] == 1
        if not gray and image.shape[2] >= 3:
            b, g, r = image[..., 0], image[..., 1], image[..., 2]
            gray = bool(np.array_equal(b, g) and np.array_equal(g, r))
        channels.append(1 if gray else 3)
    if not sizes:
        return {"size": None, "channels": 3}
    h, w = np.median(np.array(sizes), axis=0)
    return {"size": (int(h), int(w)), "channels": 1 if all(c == 1 for c in channels) else 3}


def probe_audio(values, base_dir):
    """`{"sample_rate": int | None, "duration": float | None}`: median rate, 95th-percentile length."""
    rates, durations = [], []
    for path in _sample(values, base_dir):
        try:
            with wave.open(path, "rb") as f:
                rates.append(f.getframerate())
                durations.append(f.getnframes() / f.getframerate())
        except (OSError, EOFError, wave.Error, ZeroDivisionError):
            continue
    if not rates:
        return {"sample_rate": None, "duration": None}
    return {
        "sample_rate": int(np.median(rates)),
        "duration": float(np.percentile(durations, 95)),
    }


def probe_text(values):
    """`{"chars": int, "words": int}`: 95th percentiles of the lengths of the filled texts."""
    filled = [v for v in values if v.strip()] or [""]
    return {
        "chars": int(np.percentile([len(v) for v in filled], 95)),
        "words": int(np.percentile([len(v.split()) for v in filled], 95)),
    }


def probe_encoder(kind, source):
    """`{"encoder": source, ...}` with the input size (`encoder_size`) or sample rate
    (`encoder_sample_rate`) a pretrained image or audio encoder takes (read from `source`)."""
    facts = {"encoder": source}
    if kind == "image":
        from mmkeras.data import ImageSpec

        facts["encoder_size"] = list(ImageSpec.from_pretrained(source).size)
    elif kind == "audio":
        from mmkeras.data import AudioSpec

        facts["encoder_sample_rate"] = int(AudioSpec.from_pretrained(source).sample_rate)
    return facts
