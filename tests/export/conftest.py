"""A tiny image + text + audio model, its pipeline and one export, shared by the export tests."""

import csv
import os
import wave

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
