"""Image input pipeline throughput: mmkeras.data.Pipeline vs. the alternatives, side by side.

Compares, on the same generated JPEGs (decode, resize to --size, random augmentation):

1. mmkeras: `Pipeline.dataset(training=True)`: TF decode + one OpenCV `numpy_function` per batch
   inside a parallel map.
2. thread pool: the same OpenCV decode + augment work in a plain Python thread pool (no tf.data),
   the practical limit of OpenCV on this machine.
3. keras layers: TF decode + RandomRotation, RandomZoom, RandomTranslation, RandomFlip,
   RandomBrightness, RandomContrast in a parallel tf.data map over batches.
4. py_function: TF file reading + OpenCV decode + augment in a per-image `tf.py_function`.

Each figure is the best of three full passes after a warm-up.

Run:  python benchmarks/pipeline.py --num-images 2000 --source-size 256 --size 128
"""

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import mmkeras as mk  # noqa: E402

AUGMENT = dict(
    rotation=30, scale=(0.8, 1.2), translate=0.1, flip="horizontal", brightness=0.2, contrast=0.2
)


def make_images(folder, n, size):
    rng = np.random.default_rng(0)
    paths = []
    base = cv2.resize(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8), (size, size))
    for i in range(n):
        image = np.roll(base, i, axis=1) ^ np.uint8(i % 256)
        path = os.path.join(folder, f"{i:05d}.jpg")
        cv2.imwrite(path, image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(path)
    return paths


def count(iterable):
    n = 0
    for batch in iterable:
        n += int(batch[0]["image"].shape[0]) if isinstance(batch, tuple) else int(batch.shape[0])
    return n


def timed(run, warmup, repeats=3):
    """Best images/s over `repeats` full passes: the machine is shared, so the fastest pass is
    the one least disturbed by other work."""
    warmup()
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        n = run()
        best = max(best, n / (time.perf_counter() - start))
    return best


def bench_mmkeras(paths, args):
    pipe = mk.data.Pipeline(
        schema={"image": "path", "label": "label"},
        image=mk.data.ImageSpec(
            size=(args.size, args.size), augment=mk.data.OpenCVAugment(**AUGMENT)
        ),
    )
    rows = [{"path": p, "label": "x"} for p in paths]
    pipe.adapt(rows[:10])
    ds = pipe.dataset(rows, training=True, batch_size=args.batch_size, seed=0)
    return timed(lambda: count(ds), lambda: count(ds.take(3)))


def bench_thread_pool(paths, args):
    aug = mk.data.OpenCVAugment(**AUGMENT)

    def work(i):
        data = np.fromfile(paths[i], np.uint8)
        image = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        image = cv2.resize(image, (args.size, args.size), interpolation=cv2.INTER_LINEAR)
        return aug.augment_image(image.astype(np.float32), np.random.default_rng([0, 0, i]))

    workers = os.cpu_count() or 1

    def run(n=None):
        n = len(paths) if n is None else n
        with ThreadPoolExecutor(workers) as pool:
            for start in range(0, n, args.batch_size):
                np.stack(list(pool.map(work, range(start, min(n, start + args.batch_size)))))
        return n

    return timed(run, lambda: run(3 * args.batch_size))


def decode_tf(path, size):
    image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
    return tf.image.resize(tf.cast(image, tf.float32), (size, size))


def bench_keras_layers(paths, args):
    layers = keras.Sequential(
        [
            keras.layers.RandomRotation(30 / 360),
            keras.layers.RandomZoom(0.2),
            keras.layers.RandomTranslation(0.1, 0.1),
            keras.layers.RandomFlip("horizontal"),
            keras.layers.RandomBrightness(0.2, value_range=(0, 255)),
            keras.layers.RandomContrast(0.2),
        ]
    )
    ds = tf.data.Dataset.from_tensor_slices(paths)
    ds = ds.map(lambda p: decode_tf(p, args.size), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(args.batch_size)
    ds = ds.map(lambda x: layers(x, training=True), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    return timed(lambda: count(ds), lambda: count(ds.take(3)))


def bench_py_function(paths, args):
    aug = mk.data.OpenCVAugment(**AUGMENT)

    def work(data, index):
        image = cv2.imdecode(np.frombuffer(data.numpy(), np.uint8), cv2.IMREAD_COLOR)
        image = cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), (args.size, args.size))
        rng = np.random.default_rng([0, 0, int(index)])
        return aug.augment_image(image.astype(np.float32), rng)

    ds = tf.data.Dataset.from_tensor_slices(paths).enumerate()
    ds = ds.map(
        lambda i, p: tf.py_function(work, [tf.io.read_file(p), i], tf.float32),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    ds = ds.batch(args.batch_size).prefetch(tf.data.AUTOTUNE)
    return timed(lambda: count(ds), lambda: count(ds.take(3)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-images", type=int, default=2000)
    parser.add_argument("--source-size", type=int, default=256)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        paths = make_images(folder, args.num_images, args.source_size)
        results = {
            "mmkeras Pipeline (TF decode + batched OpenCV)": bench_mmkeras(paths, args),
            "thread pool (OpenCV decode + augment)": bench_thread_pool(paths, args),
            "Keras random-transform layers in tf.data": bench_keras_layers(paths, args),
            "per-image tf.py_function (OpenCV)": bench_py_function(paths, args),
        }
    ours = results["mmkeras Pipeline (TF decode + batched OpenCV)"]
    print(
        f"\n{args.num_images} JPEGs {args.source_size}x{args.source_size} -> {args.size}x"
        f"{args.size}, batch {args.batch_size}, {os.cpu_count()} CPU cores"
    )
    print(f"| {'pipeline':<48} | {'images/s':>9} | {'mmkeras / this':>14} |")
    print(f"|{'-' * 50}|{'-' * 11}|{'-' * 16}|")
    for name, rate in results.items():
        print(f"| {name:<48} | {rate:>9.0f} | {ours / rate:>14.2f} |")


if __name__ == "__main__":
    main()
