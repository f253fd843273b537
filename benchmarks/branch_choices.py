"""Branch options side by side: image pooling and audio front ends, single-modality, on AV-Digits.

What it compares: single-modality models that differ in one branch choice only.
- image only: `image_cnn` with `pooling="flatten"`, `"avg"`, `"max"` and `"attention"`, at the
  demo's size (filters 16-32-64, 64-d feature, no dropout), so the last map is 4x4x64 as in
  Ludwig's stacked_cnn;
- audio only: `audio_rnn` (bidirectional GRU, 32 units, as in the demo) and `audio_cnn`
  (filters 16-32-64) over 40 log-mel bands with 25 ms frames every 20 ms, with
  `normalization` `"utterance"` / `"band"` / `"batch"` and `pre_emphasis` None / 0.97.
Data: the bundled AV-Digits splits as they ship (train 1257, validation 270, test 270 rows),
read once with `AVDigits.as_arrays` (the same arrays the demo's evaluation pipeline decodes:
images 32x32x1 on 0..255, clips zero-padded to 8000 samples).
Method: every model is `mk.build_model` with one branch and a 10-class head, as the demo's
single-modality rows; Adam at the demo's learning rate (2e-3), batch 32, `--epochs` epochs (15),
the weights of the best validation-accuracy epoch are kept and scored on the test set; each
setting is trained once per seed (`--seeds 0 1`), with the same seed for every setting. The
table gives test accuracy per seed, their mean, the best epochs, parameters and training
seconds (seconds drift on a shared machine: compare them within one run only).

    python benchmarks/branch_choices.py                       # everything, 2 seeds
    python benchmarks/branch_choices.py --only image --epochs 2 --rows 200   # a quick check
    python benchmarks/branch_choices.py --settings audio_rnn/band+pre
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import mmkeras as mk  # noqa: E402

LEARNING_RATE = 2e-3  # mmkeras demo
BATCH_SIZE = 32
AUDIO = {"n_mels": 40, "frame_step_ms": 20.0, "output_dim": 64, "dropout": 0.0}


def _image(pooling):
    return lambda data: mk.branches.image_cnn(
        input_shape=(*data.image_size, data.channels),
        filters=(16, 32, 64),
        output_dim=64,
        dropout=0.0,
        pooling=pooling,
    )


def _audio(builder, normalization, pre_emphasis, **sizes):
    def build(data):
        make = getattr(mk.branches, builder)
        return make(
            sample_rate=data.sample_rate,
            duration=data.duration,
            normalization=normalization,
            pre_emphasis=pre_emphasis,
            **AUDIO,
            **sizes,
        )

    return build


# name -> (modality, builder of the branch from the dataset)
SETTINGS = {
    "image_cnn/flatten": ("image", _image("flatten")),
    "image_cnn/avg": ("image", _image("avg")),
    "image_cnn/max": ("image", _image("max")),
    "image_cnn/attention": ("image", _image("attention")),
    "audio_rnn/utterance": ("audio", _audio("audio_rnn", "utterance", None, units=32)),
    "audio_rnn/utterance+pre": ("audio", _audio("audio_rnn", "utterance", 0.97, units=32)),
    "audio_rnn/band": ("audio", _audio("audio_rnn", "band", None, units=32)),
    "audio_rnn/band+pre": ("audio", _audio("audio_rnn", "band", 0.97, units=32)),
    "audio_rnn/batch+pre": ("audio", _audio("audio_rnn", "batch", 0.97, units=32)),
    "audio_cnn/utterance": ("audio", _audio("audio_cnn", "utterance", None, filters=(16, 32, 64))),
    "audio_cnn/band+pre": ("audio", _audio("audio_cnn", "band", 0.97, filters=(16, 32, 64))),
}


class BestWeights(keras.callbacks.Callback):
    """Keeps the weights of the best validation-accuracy epoch and restores them at the end."""

    def __init__(self):
        super().__init__()
        self.best, self.best_epoch, self.weights = -1.0, 0, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get("val_accuracy", -1.0)
        if value > self.best:
            self.best, self.best_epoch = value, epoch + 1
            self.weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.weights is not None:
            self.model.set_weights(self.weights)


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
    modality, build = SETTINGS[name]
    keras.utils.set_random_seed(seed)
    model = mk.build_model(
        branches={modality: build(data)},
        fusion="concat",
        task=mk.tasks.Classification(num_classes=len(data.labels)),
        learning_rate=LEARNING_RATE,
        name="single_" + modality,
    )
    train, validation, test = (splits[s] for s in ("train", "validation", "test"))
    keeper = BestWeights()
    start = time.perf_counter()
    model.fit(
        {modality: train[modality]},
        train["label"],
        validation_data=({modality: validation[modality]}, validation["label"]),
        epochs=epochs,
        batch_size=BATCH_SIZE,
        shuffle=True,
        verbose=0,
        callbacks=[keeper],
    )
    seconds = time.perf_counter() - start
    scores = model.evaluate(
        {modality: test[modality]}, test["label"], batch_size=256, verbose=0, return_dict=True
    )
    return {
        "params": int(model.count_params()),
        "best_epoch": keeper.best_epoch,
        "val": keeper.best,
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

    names = args.settings or [n for n, (m, _) in SETTINGS.items() if args.only in (None, m)]
    data = mk.datasets.load_av_digits()
    splits = _arrays(data, args.rows)
    sizes = ", ".join(f"{s} {len(splits[s]['label'])}" for s in splits)
    print(
        f"AV-Digits ({sizes}); {args.epochs} epochs, batch {BATCH_SIZE}, Adam lr "
        f"{LEARNING_RATE}, best-validation epoch scored on test; seeds {args.seeds}",
        flush=True,
    )
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
