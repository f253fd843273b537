"""Builders of tiny on-disk datasets (real JPEG / PNG / WAV files) for the data tests."""

import csv
import os
import wave

import numpy as np
import pytest

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 210)}
TONES = {"red": 300.0, "green": 600.0, "blue": 1200.0}


def write_image(path, rgb, size=(40, 48), noise=0, seed=0):
    import cv2

    rng = np.random.default_rng(seed)
    image = np.empty((*size, 3), np.float32)
    image[:] = rgb
    image += rng.normal(0, noise, image.shape) if noise else 0
    image[:, : size[1] // 4] *= 0.5  # an asymmetric band, so flips change the pixels
    bgr = np.clip(image, 0, 255).astype(np.uint8)[..., ::-1]
    ext = os.path.splitext(path)[1]
    ok, data = cv2.imencode(ext, bgr)
    assert ok
    with open(path, "wb") as f:
        f.write(data.tobytes())


def write_wav(path, freq, rate=8000, seconds=0.5, channels=1, amplitude=0.5):
    t = np.arange(int(rate * seconds)) / rate
    signal = amplitude * np.sin(2 * np.pi * freq * t)
    samples = np.repeat((signal * 32767).astype("<i2")[:, None], channels, axis=1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())


def write_csv(path, rows):
    columns = list(rows[0])
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def make_dataset(folder, n=12, seed=0):
    """Writes n rows of coloured JPEG/PNG images, tones and captions; returns the rows."""
    rng = np.random.default_rng(seed)
    names = list(COLOURS)
    rows = []
    for i in range(n):
        label = names[i % 3]
        ext = ".jpg" if i % 2 == 0 else ".png"
        write_image(os.path.join(folder, f"img{i}{ext}"), COLOURS[label], noise=8, seed=i)
        write_wav(os.path.join(folder, f"snd{i}.wav"), TONES[label], rate=8000 if i % 2 else 11025)
        words = ["a", "photo", "of", label, "thing", str(int(rng.integers(0, 5)))]
        rows.append(
            {
                "image": f"img{i}{ext}",
                "caption": " ".join(words),
                "wav": f"snd{i}.wav",
                "label": label,
            }
        )
    return rows


@pytest.fixture
def files():
    """The file writers above, for tests that build their own rows."""
    import types

    return types.SimpleNamespace(
        write_image=write_image, write_wav=write_wav, write_csv=write_csv, make_dataset=make_dataset
    )


@pytest.fixture
def av_folder(tmp_path):
    rows = make_dataset(tmp_path)
    write_csv(tmp_path / "train.csv", rows)
    return tmp_path, rows
