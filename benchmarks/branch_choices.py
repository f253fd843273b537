"""Branch options side by side: image pooling and audio front ends, single-modality, on AV-Digits.

What it compares: single-modality models that differ in one branch choice at a time (the
settings are printed, one builder call per row):
- image only: `image_cnn` with `pooling="flatten"`, `"avg"`, `"max"` and `"attention"` at the
  demo's size (filters 16-32-64, 64-d feature, no dropout), so the last map is 4x4x64 as in
  Ludwig's stacked_cnn; and `image_cnn` with every argument at its default;
- audio only: `audio_rnn` (bidirectional GRU, 32 units, as in the demo) and `audio_cnn`
  (filters 16-32-64) over 40 log-mel bands with 25 ms frames every 20 ms, with `normalization`
  `"utterance"` / `"band"` / `"batch"`, `pre_emphasis` None / 0.97 and, for `audio_cnn`,
  `pooling` over the whole map (`"avg"`) or over time only (`"time_avg"`, `"time_max"`); and
  `audio_cnn` with every argument at its default.
Data: the bundled AV-Digits splits as they ship (train 1257, validation 270, test 270 rows),
read once with `AVDigits.as_arrays` (the arrays the demo's evaluation pipeline decodes: images
32x32x1 on 0..255, clips zero-padded to 8000 samples). The audio test split holds 60 distinct
clips, so audio figures move by several points from seed to seed.
Method: every model is `mk.build_model` with one branch and a 10-class head, as the demo's
single-modality rows; Adam at the demo's learning rate (2e-3), batch 32, `--epochs` epochs (15),
the weights of the best validation-accuracy epoch are kept and scored on the test set; each
setting is trained once per seed (`--seeds 0 1`), with the same seeds for every setting. The
table gives test accuracy per seed, their mean, the best validation accuracy, the best epochs,
parameters and training seconds (seconds drift on a shared machine: compare within one run).

    python benchmarks/branch_choices.py                       # everything, 2 seeds (~30 min)
    python benchmarks/branch_choices.py --only image --epochs 2 --rows 200   # a quick check
    python benchmarks/branch_choices.py --settings audio_rnn/band+pre audio_cnn/defaults
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import mmkeras as mk  # noqa: E402
from mmkeras.train.atomic_model_checkpoint import (  # noqa: E402
    AtomicModelCheckpoint,
    read_best_info,
)

LEARNING_RATE = 2e-3  # mmkeras demo
BATCH_SIZE = 32
# The demo's branch sizes: small enough to train in seconds per epoch on two cores.
IMAGE = {"filters": (16, 32, 64), "output_dim": 64, "dropout": 0.0}
AUDIO = {"n_mels": 40, "frame_step_ms": 20.0, "output_dim": 64, "dropout": 0.0}
AUDIO_RNN = {**AUDIO, "units": 32}
AUDIO_CNN = {**AUDIO, "filters": (16, 32, 64)}


def _front_end(normalization, pre_emphasis=None):
    return {"normalization": normalization, "pre_emphasis": pre_emphasis}


# name -> (builder, its arguments besides the ones the data fixes); "defaults" rows leave every
# other argument at the builder's default.
SETTINGS = {
    "image_cnn/flatten": ("image_cnn", {**IMAGE, "pooling": "flatten"}),
    "image_cnn/avg": ("image_cnn", {**IMAGE, "pooling": "avg"}),
    "image_cnn/max": ("image_cnn", {**IMAGE, "pooling": "max"}),
    "image_cnn/attention": ("image_cnn", {**IMAGE, "pooling": "attention"}),
    "image_cnn/defaults": ("image_cnn", {}),
    "audio_rnn/utterance": ("audio_rnn", {**AUDIO_RNN, **_front_end("utterance")}),
    "audio_rnn/utterance+pre": ("audio_rnn", {**AUDIO_RNN, **_front_end("utterance", 0.97)}),
    "audio_rnn/band": ("audio_rnn", {**AUDIO_RNN, **_front_end("band")}),
    "audio_rnn/band+pre": ("audio_rnn", {**AUDIO_RNN, **_front_end("band", 0.97)}),
    "audio_rnn/batch": ("audio_rnn", {**AUDIO_RNN, **_front_end("batch")}),
    "audio_cnn/avg,utterance": (
        "audio_cnn",
        {**AUDIO_CNN, "pooling": "avg", **_front_end("utterance")},
    ),
    "audio_cnn/avg,band+pre": (
        "audio_cnn",
        {**AUDIO_CNN, "pooling": "avg", **_front_end("band", 0.97)},
    ),
    "audio_cnn/time_avg,utterance": (
        "audio_cnn",
        {**AUDIO_CNN, "pooling": "time_avg", **_front_end("utterance")},
    ),
    "audio_cnn/time_max,utterance": (
        "audio_cnn",
        {**AUDIO_CNN, "pooling": "time_max", **_front_end("utterance")},
    ),
    "audio_cnn/time_max,utterance+pre": (
        "audio_cnn",
        {**AUDIO_CNN, "pooling": "time_max", **_front_end("utterance", 0.97)},
    ),
    "audio_cnn/time_max,band+pre": (
        "audio_cnn",
        {**AUDIO_CNN, "pooling": "time_max", **_front_end("band", 0.97)},
    ),
    "audio_cnn/defaults": ("audio_cnn", {}),
}


def _modality(name):
    return SETTINGS[name][0].split("_")[0]


def _branch(name, data):
    builder, kwargs = SETTINGS[name]
    if _modality(name) == "image":
        fixed = {"input_shape": (*data.image_size, data.channels)}
    else:
        fixed = {"sample_rate": data.sample_rate, "duration": data.duration}
    return getattr(mk.branches, builder)(**fixed, **kwargs)


def _call(name):
    builder, kwargs = SETTINGS[name]
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return f"{builder}({args or 'defaults'})"


def _arrays(data, rows):
    splits = {}
    for split in ("train", "validation", "test"):
        arrays = data.as_arrays(split)
        take = slice(None) if rows is None else slice(rows)
        splits[split] = {
            "image": arrays["image"][take].astype("float32"),
            "audio": arrays["audio"][take],
            "label": arrays["label"][take],
        }
    return splits


def _run(name, seed, data, splits, epochs):
    modality = _modality(name)
    keras.utils.set_random_seed(seed)
    model = mk.build_model(
        branches={modality: _branch(name, data)},
        fusion="concat",
        task=mk.tasks.Classification(num_classes=len(data.labels)),
        learning_rate=LEARNING_RATE,
        name="single_" + modality,
    )
    train, validation, test = (splits[s] for s in ("train", "validation", "test"))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        # The best-checkpoint path of `mmkeras train` (`callbacks.checkpoint.keep: best`).
        model.fit(
            {modality: train[modality]},
            train["label"],
            validation_data=({modality: validation[modality]}, validation["label"]),
            epochs=epochs,
            batch_size=BATCH_SIZE,
            shuffle=True,
            verbose=0,
            callbacks=[AtomicModelCheckpoint(folder, monitor="val_accuracy")],
        )
        seconds = time.perf_counter() - start
        best = read_best_info(folder)
        model.load_weights(os.path.join(folder, "best.keras"))
    scores = model.evaluate(
        {modality: test[modality]}, test["label"], batch_size=256, verbose=0, return_dict=True
    )
    return {
        "params": int(model.count_params()),
        "best_epoch": best["epoch"],
        "val": best["value"],
        "test": float(scores["accuracy"]),
        "seconds": seconds,
    }


def _table(results, seeds):
    header = ["setting", "params", *(f"test s{s}" for s in seeds), "mean", "best val (mean)"]
    header += ["best epochs", "s/run"]
    lines = []
    for name, runs in results.items():
        tests = [r["test"] for r in runs]
        lines.append(
            [
                name,
                f"{runs[0]['params']:,}",
                *(f"{100 * t:.1f}%" for t in tests),
                f"{100 * np.mean(tests):.1f}%",
                f"{100 * np.mean([r['val'] for r in runs]):.1f}%",
                "/".join(str(r["best_epoch"]) for r in runs),
                f"{np.mean([r['seconds'] for r in runs]):.0f}",
            ]
        )
    rows = [header, ["---"] * len(header), *lines]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--only", choices=("image", "audio"), help="one modality's settings")
    parser.add_argument("--settings", nargs="+", choices=sorted(SETTINGS), help="these settings")
    parser.add_argument("--rows", type=int, help="the first ROWS rows of each split (checks)")
    args = parser.parse_args()

    names = args.settings or [n for n in SETTINGS if args.only in (None, _modality(n))]
    data = mk.datasets.load_av_digits()
    splits = _arrays(data, args.rows)
    sizes = ", ".join(f"{s} {len(splits[s]['label'])}" for s in splits)
    print(
        f"AV-Digits ({sizes}); {args.epochs} epochs, batch {BATCH_SIZE}, Adam lr "
        f"{LEARNING_RATE}, best-validation epoch scored on test; seeds {args.seeds}",
        flush=True,
    )
    print("settings (besides input_shape, or sample_rate and duration, from the data):")
    for name in names:
        print(f"  {name}: {_call(name)}")
    results = {}
    for name in names:
        results[name] = []
        for seed in args.seeds:
            run = _run(name, seed, data, splits, args.epochs)
            results[name].append(run)
            print(
                f"{name} seed {seed}: test {100 * run['test']:.1f}%, best val "
                f"{100 * run['val']:.1f}% at epoch {run['best_epoch']}, {run['seconds']:.0f} s",
                flush=True,
            )
    print()
    print(_table(results, args.seeds))


if __name__ == "__main__":
    main()
