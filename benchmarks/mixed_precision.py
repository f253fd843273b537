"""Training speed and accuracy of float32 against mixed precision, on the device at hand.

What it compares: the model of `examples/configs/av_digits.yaml` (or `--config`) built under
the `float32` policy and under `mixed_bfloat16` (`mixed_float16` too where a GPU is found),
which is what `train.mixed_precision: auto` chooses between.
Data: the config's training manifest through its own pipeline, augmentation off, the first
`--steps` batches cached in memory so input cost is the same for every policy.
Method: each policy's model is compiled the same way (Adam, the task's loss) and warmed up; the
policies take turns running `fit` over the cached batches `--rounds` times; the median time per
step of each and the ratio to float32 are printed. With `--epochs N` each policy also trains N
epochs on the whole training set from the same initial seed and the validation accuracy is
printed, so speed is never bought with accuracy.

    python benchmarks/mixed_precision.py [--steps 20] [--rounds 5] [--epochs 0]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import mmkeras as mk  # noqa: E402
from mmkeras.train import builders  # noqa: E402
from mmkeras.train.precision import dtype_policy  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _model(config, policy):
    with dtype_policy(policy):
        keras.utils.set_random_seed(config.seed)
        model = builders.build_model(config)
        model.compile_defaults(optimizer=keras.optimizers.Adam(1e-3))
    return model


def _step_time(model, batches, rounds_out):
    start = time.perf_counter()
    model.fit(batches, epochs=1, verbose=0, shuffle=False)
    rounds_out.append((time.perf_counter() - start) / len(batches))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=os.path.join(ROOT, "examples/configs/av_digits.yaml"))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=0)
    args = parser.parse_args()

    config = mk.config.load(args.config)
    pipe = builders.build_pipeline(config)
    pipe.adapt(builders.resolve_path(config, config.data.train))
    config = builders.resolve_config(config, pipe)
    train = builders.resolve_path(config, config.data.train)
    ds = pipe.dataset(train, training=False, batch_size=config.data.batch_size, verbose=False)
    batches = list(ds.take(args.steps).as_numpy_iterator())
    cached = tf.data.Dataset.from_tensor_slices(
        tuple(tf.nest.map_structure(lambda *xs: tf.stack(xs), *batches))
    )

    policies = ["float32", "mixed_bfloat16"]
    if tf.config.list_physical_devices("GPU"):
        policies.append("mixed_float16")
    cpu_flags = ""
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = set(next((line for line in f if line.startswith("flags")), "").split())
        cpu_flags = " ".join(sorted(flags & {"avx512_bf16", "amx_bf16", "avx512f", "avx2"}))
    print(f"device: {tf.config.list_physical_devices()}; CPU bf16-related flags: {cpu_flags}")
    print(f"config: {args.config}; {len(batches)} cached batches of {config.data.batch_size}")

    models = {p: _model(config, p) for p in policies}
    for policy, model in models.items():  # warm-up: tracing and the first steps
        with dtype_policy(policy):
            model.fit(cached, epochs=1, verbose=0, shuffle=False)
    times = {p: [] for p in policies}
    for _ in range(args.rounds):
        for policy, model in models.items():
            with dtype_policy(policy):
                _step_time(model, cached, times[policy])
    base = statistics.median(times["float32"])
    print(f"\n{'policy':<16}{'ms/step':>10}{'vs float32':>12}")
    for policy in policies:
        t = statistics.median(times[policy])
        print(f"{policy:<16}{t * 1000:>10.1f}{t / base:>11.2f}x")

    if args.epochs:
        val = builders.resolve_path(config, config.data.validation)
        train_ds = pipe.dataset(
            train,
            training=True,
            batch_size=config.data.batch_size,
            shuffle=True,
            seed=0,
            verbose=False,
        )
        val_ds = pipe.dataset(val, training=False, batch_size=config.data.batch_size, verbose=False)
        print(f"\n{'policy':<16}{'val accuracy after ' + str(args.epochs) + ' epochs':>32}")
        for policy in policies:
            model = _model(config, policy)
            with dtype_policy(policy):
                history = model.fit(
                    train_ds, validation_data=val_ds, epochs=args.epochs, verbose=0, shuffle=False
                )
            print(f"{policy:<16}{max(history.history['val_accuracy']):>32.4f}")


if __name__ == "__main__":
    main()
