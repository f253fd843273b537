"""A tiny image + text + audio model, its pipeline and one export, shared by the export tests."""

import csv
import io
import os
import struct
import wave
import zlib

import numpy as np
import pytest

TEXTS = ["a cat", "the dog runs", "red bird sings", "a big cat", "small dog", "bird on a tree"]
CLASSES = ["bird", "cat", "dog"]


def write_wav(path, samples, rate=8000):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples, np.int16).tobytes())


def wav_bytes(frames, rate=8000, sample_width=2, channels=1):
    """A WAV file (PCM, `sample_width` bytes per sample) of `frames` silent frames, as bytes."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(sample_width)
        w.setframerate(rate)
        w.writeframes(bytes(frames * sample_width * channels))
    return out.getvalue()


def _png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def huge_png(width, height):
    """A valid, all-black 1-bit grayscale PNG: about 50 KB for 20000x20000 pixels.

    TensorFlow decodes it to `height * width * 3` bytes (1.2 GB for 20000x20000), and the
    pipeline's resize to float32 needs four times more.
    """
    row = b"\0" * (1 + (width + 7) // 8)
    z = zlib.compressobj(9)
    data = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


def jpeg_header(width, height):
    """The start of a baseline JPEG (SOI, JFIF APP0, one DQT, SOF0) giving `width` x `height`."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\0" + bytes(range(1, 65))
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3)
    sof += b"\x01\x11\0\x02\x11\0\x03\x11\0"
    return b"\xff\xd8" + app0 + dqt + sof + b"\xff\xd9"


def gif_header(width, height):
    """A GIF whose logical screen is `width` x `height` (no image data)."""
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0) + b"\x3b"


def bmp_header(width, height):
    """A 24-bit BMP header giving `width` x `height` (negative: top-down), with no pixel data."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info), 0, 0, 14 + len(info)) + info


def write_image(path, image):
    import cv2

    ok, buffer = cv2.imencode(os.path.splitext(str(path))[1], image)
    assert ok
    with open(path, "wb") as f:
        f.write(buffer.tobytes())


def write_dataset(root, n=6, seed=0):
    """Writes JPEG/PNG images, WAV clips (8 kHz, of varying lengths) and a CSV manifest."""
    rng = np.random.default_rng(seed)
    os.makedirs(root, exist_ok=True)
    rows = []
    for i in range(n):
        ext = ".jpg" if i % 2 == 0 else ".png"
        write_image(os.path.join(root, f"img{i}{ext}"), rng.integers(0, 255, (40, 48, 3), np.uint8))
        write_wav(os.path.join(root, f"clip{i}.wav"), rng.normal(0, 3000, 1500 + 300 * i))
        rows.append(
            {
                "image": f"img{i}{ext}",
                "caption": TEXTS[i % len(TEXTS)],
                "audio": f"clip{i}.wav",
                "label": CLASSES[i % 3],
            }
        )
    manifest = os.path.join(root, "manifest.csv")
    with open(manifest, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest, rows


def build_pipeline(manifest, allow_missing=True):
    import mmkeras as mk

    pipe = mk.data.Pipeline(
        schema={"image": "image", "text": "caption", "audio": "audio", "label": "label"},
        image=mk.data.ImageSpec(size=(32, 32)),
        text=mk.data.TextSpec(max_length=8, vocab_size=50),
        audio=mk.data.AudioSpec(sample_rate=8000, duration=0.25),
        allow_missing=allow_missing,
    )
    pipe.adapt(manifest)
    return pipe


def build_tiny_model(pipe):
    import mmkeras as mk

    return mk.build_model(
        branches={
            "image": mk.branches.image_cnn(input_shape=(32, 32, 3), filters=(4,), output_dim=8),
            "text": mk.branches.text_rnn(
                vocab_size=pipe.vocab_size("text"), embedding_dim=8, units=8, output_dim=8
            ),
            "audio": mk.branches.audio_cnn(
                sample_rate=8000, duration=0.25, n_mels=16, filters=(4,), output_dim=8
            ),
        },
        task=mk.tasks.Classification(num_classes=3),
    )


def raw_batch(root, rows):
    """The raw request for `rows`: file bytes and texts, as numpy object arrays."""

    def read(name):
        with open(os.path.join(root, name), "rb") as f:
            return f.read()

    return {
        "image": np.array([read(r["image"]) for r in rows], dtype=object),
        "text": np.array([r["caption"] for r in rows], dtype=object),
        "audio": np.array([read(r["audio"]) for r in rows], dtype=object),
    }


class Exported:
    """What the tests share: data folder, rows, pipeline, model and the export path."""

    def __init__(self, root, manifest, rows, pipe, model, path):
        self.root, self.manifest, self.rows = root, manifest, rows
        self.pipe, self.model, self.path = pipe, model, path
        self._loaded = None

    @property
    def loaded(self):
        if self._loaded is None:
            import tensorflow as tf
            import tensorflow_text  # noqa: F401

            self._loaded = tf.saved_model.load(self.path)
        return self._loaded

    def serve(self, **raw):
        import tensorflow as tf

        fn = self.loaded.signatures["serving_default"]
        return fn(**{k: tf.constant(v) for k, v in raw.items()})


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    import mmkeras as mk

    root = str(tmp_path_factory.mktemp("export_data"))
    manifest, rows = write_dataset(root)
    pipe = build_pipeline(manifest)
    model = build_tiny_model(pipe)
    path = os.path.join(str(tmp_path_factory.mktemp("export_out")), "exported")
    mk.export.saved_model(model, pipe, path)
    return Exported(root, manifest, rows, pipe, model, path)


FEATURES = ["f0", "f1", "f2"]
# The limits of the `limited` export: images up to 48x40 pixels, audio up to 2 s.
MAX_PIXELS = 48 * 40
MAX_DURATION = 2.0


@pytest.fixture(scope="session")
def limited(tmp_path_factory):
    """An image + audio + tabular export with small limits (`MAX_PIXELS`, `MAX_DURATION`)."""
    import mmkeras as mk

    root = str(tmp_path_factory.mktemp("limited_data"))
    _, rows = write_dataset(root)
    rng = np.random.default_rng(1)
    for row in rows:
        row.pop("caption")
        row.update({f: float(v) for f, v in zip(FEATURES, rng.normal(size=3), strict=True)})
    manifest = os.path.join(root, "limited.csv")
    with open(manifest, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    pipe = mk.data.Pipeline(
        schema={"image": "image", "audio": "audio", "tab": FEATURES, "label": "label"},
        image=mk.data.ImageSpec(size=(32, 32), max_pixels=MAX_PIXELS),
        audio=mk.data.AudioSpec(sample_rate=8000, duration=0.25, max_duration=MAX_DURATION),
        specs={"tab": mk.data.TabularSpec()},
    )
    pipe.adapt(manifest)
    model = mk.build_model(
        branches={
            "image": mk.branches.image_cnn(input_shape=(32, 32, 3), filters=(4,), output_dim=8),
            "audio": mk.branches.audio_cnn(
                sample_rate=8000, duration=0.25, n_mels=16, filters=(4,), output_dim=8
            ),
            "tab": mk.branches.tabular_mlp(num_features=3, hidden_units=(8,), output_dim=8),
        },
        task=mk.tasks.Classification(num_classes=3),
    )
    path = os.path.join(str(tmp_path_factory.mktemp("limited_out")), "exported")
    mk.export.saved_model(model, pipe, path)
    return Exported(root, manifest, rows, pipe, model, path)


def limited_request(limited, image=None, audio=None, tab=None):
    """A one-element request for the `limited` export (its first row, or the given values)."""
    row = limited.rows[0]

    def read(name):
        with open(os.path.join(limited.root, name), "rb") as f:
            return f.read()

    return {
        "image": np.array([read(row["image"]) if image is None else image], dtype=object),
        "audio": np.array([read(row["audio"]) if audio is None else audio], dtype=object),
        "tab": np.array([[row[f] for f in FEATURES]], np.float32) if tab is None else tab,
    }
