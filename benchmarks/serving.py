"""Serving latency: the exported SavedModel on raw bytes vs the Keras model on tensors.

Compares, side by side in one process on the same data:

- `saved_model(raw)`: `serving_default` of the export on raw inputs (JPEG/PNG bytes, texts, WAV
  bytes): decoding, resizing, tokenization and audio framing run inside the graph;
- `keras(tensors)`: `model(inputs, training=False)` (eager) on tensors already preprocessed by
  `pipe.preprocess` (preprocessing not timed): the model alone, called as a user would;
- `keras tf.function(tensors)`: the same call wrapped in a `tf.function` (traced once).

Data: generated 64x48 JPEG/PNG images resized to 64x64, short texts, 8 kHz WAV clips cropped to
0.5 s; model: image_cnn (16, 32) + text_rnn (GRU 32) + audio_cnn (16, 32), concat fusion,
3 classes. Reports the median and p99 latency (ms) at batch 1 and batch 32 and their ratio.

Run: `python benchmarks/serving.py [--repeats 50]`
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402


def _data(root, n):
    import csv
    import wave

    import cv2

    rng = np.random.default_rng(0)
    words = "a the cat dog bird runs sings red big small on tree".split()
    rows = []
    for i in range(n):
        ext = ".jpg" if i % 2 == 0 else ".png"
        ok, buf = cv2.imencode(ext, rng.integers(0, 255, (48, 64, 3), np.uint8))
        with open(os.path.join(root, f"img{i}{ext}"), "wb") as f:
            f.write(buf.tobytes())
        with wave.open(os.path.join(root, f"clip{i}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(rng.normal(0, 3000, 4000 + 40 * i).astype(np.int16).tobytes())
        text = " ".join(rng.choice(words, 6))
        rows.append(
            {
                "image": f"img{i}{ext}",
                "text": text,
                "audio": f"clip{i}.wav",
                "label": ["bird", "cat", "dog"][i % 3],
            }
        )
    manifest = os.path.join(root, "manifest.csv")
    with open(manifest, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest, rows


def _time(fn, repeats):
    fn()  # warm-up (tracing, first-call allocations)
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times)), float(np.percentile(times, 99))


def bench_model(manifest):
    """The benchmark pipeline adapted on `manifest` and the small image + text + audio model,
    as `(model, pipeline)` (also used by `benchmarks/http_serving.py`)."""
    import mmkeras as mk

    pipe = mk.data.Pipeline(
        schema={"image": "image", "text": "text", "audio": "audio", "label": "label"},
        image=mk.data.ImageSpec(size=(64, 64)),
        text=mk.data.TextSpec(max_length=16, vocab_size=100),
        audio=mk.data.AudioSpec(sample_rate=8000, duration=0.5),
    )
    pipe.adapt(manifest)
    model = mk.build_model(
        branches={
            "image": mk.branches.image_cnn(
                input_shape=(64, 64, 3), filters=(16, 32), output_dim=32
            ),
            "text": mk.branches.text_rnn(
                vocab_size=pipe.vocab_size("text"),
                cell="gru",
                embedding_dim=32,
                units=32,
                output_dim=32,
            ),
            "audio": mk.branches.audio_cnn(
                sample_rate=8000, duration=0.5, n_mels=32, filters=(16, 32), output_dim=32
            ),
        },
        task=mk.tasks.Classification(num_classes=3),
    )
    return model, pipe


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()

    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    import mmkeras as mk

    work = tempfile.mkdtemp(prefix="mmkeras-serving-")
    manifest, rows = _data(work, 32)
    model, pipe = bench_model(manifest)
    path = mk.export.saved_model(model, pipe, os.path.join(work, "exported"))
    serve = tf.saved_model.load(path).signatures["serving_default"]

    def read(name):
        with open(os.path.join(work, name), "rb") as f:
            return f.read()

    raw = {
        "image": tf.constant([read(r["image"]) for r in rows]),
        "text": tf.constant([r["text"] for r in rows]),
        "audio": tf.constant([read(r["audio"]) for r in rows]),
    }
    tensors = pipe.preprocess(raw)
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores, {args.repeats} repeats")
    compiled = tf.function(lambda x: model(x, training=False))
    print(
        f"{'batch':>5} | {'saved_model(raw) ms':>19} | {'keras(tensors) ms':>19} | "
        f"{'keras tf.function ms':>20} | raw / eager | raw / tf.function"
    )
    print(f"{'':>5} | {'median / p99':>19} | {'median / p99':>19} | {'median / p99':>20} |")
    for batch in (1, 32):
        r = {k: v[:batch] for k, v in raw.items()}
        t = {k: v[:batch] for k, v in tensors.items()}
        sm = _time(lambda r=r: serve(**r)["probabilities"].numpy(), args.repeats)
        ke = _time(lambda t=t: model(t, training=False).numpy(), args.repeats)
        tf_fn = _time(lambda t=t: compiled(t).numpy(), args.repeats)
        print(
            f"{batch:>5} | {sm[0]:>8.2f} / {sm[1]:>8.2f} | {ke[0]:>8.2f} / {ke[1]:>8.2f} | "
            f"{tf_fn[0]:>9.2f} / {tf_fn[1]:>8.2f} | {sm[0] / ke[0]:>11.2f} | "
            f"{sm[0] / tf_fn[0]:.2f}"
        )


if __name__ == "__main__":
    main()
