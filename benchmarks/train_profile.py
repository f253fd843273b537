"""Where the time of a training step and of a whole `mmkeras train` goes.

What it measures, for one run configuration (default: the shipped `examples/configs/av_digits.yaml`):

1. Start-up: importing TensorFlow, Keras and mmkeras in a fresh process.
2. Data, per epoch of the training manifest: reading the tf.data pipeline alone (decode, resize,
   tokenize, audio framing), with the OpenCV augmentation of the config and without it.
3. Model, per epoch: `fit` over the same batches cached in memory (the model alone: forward,
   backward, optimizer), with the mixed-precision policy the config resolves to and float32.
4. Together: `fit` over the real training pipeline for one epoch (what `mmkeras train` runs).
5. The whole command: `mmkeras train CONFIG --epochs N` in a fresh process, wall time.

Stages 2-4 run in one process, side by side, each `--rounds` times (median printed), so the
shares are comparable on a noisy machine; the absolute figures drift with its load.

    python benchmarks/train_profile.py [--config CONFIG] [--rounds 3] [--epochs 3]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _median_time(fn, rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _fresh_process_seconds(code):
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=os.path.join(ROOT, "examples/configs/av_digits.yaml"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the whole-command run")
    args = parser.parse_args()

    rows = []
    rows.append(
        (
            "start-up: import tensorflow, keras, mmkeras",
            _fresh_process_seconds("import tensorflow, keras, mmkeras.models, mmkeras.data"),
        )
    )

    import keras
    import tensorflow as tf

    import mmkeras as mk
    from mmkeras.train import builders
    from mmkeras.train.precision import dtype_policy, resolve_precision

    config = mk.config.load(args.config)
    start = time.perf_counter()
    pipe = builders.build_pipeline(config)
    pipe.adapt(builders.resolve_path(config, config.data.train))
    rows.append(("adapt (labels, vocabulary, checks of every row)", time.perf_counter() - start))
    config = builders.resolve_config(config, pipe)
    train = builders.resolve_path(config, config.data.train)
    batch = config.data.batch_size

    def read(training):
        ds = pipe.dataset(
            train, training=training, batch_size=batch, shuffle=training, seed=0, verbose=False
        )
        return ds

    def iterate(ds):
        for _ in ds:
            pass

    augmented = config.data.image is not None and config.data.image.augment is not None
    rows.append(
        (
            "data: one epoch, eval pipeline (no augmentation)",
            _median_time(lambda: iterate(read(False)), args.rounds),
        )
    )
    if augmented:
        rows.append(
            (
                "data: one epoch, training pipeline (OpenCV augmentation)",
                _median_time(lambda: iterate(read(True)), args.rounds),
            )
        )

    cached = read(False).cache()
    iterate(cached)
    policy = resolve_precision(config.train.mixed_precision)
    for name in dict.fromkeys([policy, "float32"]):
        with dtype_policy(name):
            keras.utils.set_random_seed(0)
            model = builders.build_model(config)
            model.compile_defaults()
            model.fit(cached, epochs=1, verbose=0)  # trace and warm up
            rows.append(
                (
                    f"model: one epoch on cached batches ({name})",
                    _median_time(lambda m=model: m.fit(cached, epochs=1, verbose=0), args.rounds),
                )
            )
            if name == policy:
                real = read(True)
                rows.append(
                    (
                        f"fit: one epoch over the training pipeline ({name})",
                        _median_time(
                            lambda m=model, d=real: m.fit(d, epochs=1, verbose=0), args.rounds
                        ),
                    )
                )

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "mmkeras",
                "train",
                args.config,
                "--epochs",
                str(args.epochs),
                "--output-dir",
                tmp,
                "--quiet",
            ],
            check=True,
            cwd=ROOT,
        )
        rows.append(
            (
                f"whole `mmkeras train --epochs {args.epochs}` (fresh process)",
                time.perf_counter() - start,
            )
        )

    print(
        f"config: {args.config}; batch {batch}; precision {policy}; devices "
        f"{[d.device_type for d in tf.config.list_physical_devices()]}"
    )
    width = max(len(r[0]) for r in rows)
    for label, seconds in rows:
        print(f"{label:<{width}}  {seconds:8.2f} s")


if __name__ == "__main__":
    main()
