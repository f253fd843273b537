"""One AutoGluon `MultiModalPredictor` run: fit, then score on test; run by `benchmarks/predictor.py`.

This file runs under the AutoGluon virtual environment's Python (`autogluon.multimodal`, torch),
never under mmkeras's: it imports nothing of mmkeras.

    /work/ag-venv/bin/python benchmarks/peers/autogluon_child.py \
        --train train.csv --validation validation.csv --test test.csv --label label \
        --seed 0 --time-limit 300 --output-dir OUT --result result.json \
        [--hyperparameters '{"model.names": [...]}'] [--random-timm resnet18] [--drop note]

The manifests must hold absolute file paths. Test accuracy is the fraction of test rows predicted
right, counted here from `predict`; `evaluate`'s own metrics are kept beside it.

`--random-timm ARCH` gives the `timm_image` model a randomly initialised ARCH, written to a local
checkpoint folder (`config.json` + `pytorch_model.bin`) that `model.timm_image.checkpoint_name`
then names. That is the way to an image model without a download: AutoGluon 1.6's `fit` builds
its models with `pretrained=True` whatever `MultiModalPredictor(pretrained=...)` says, and timm
then fetches the weights from Hugging Face.
"""

import argparse
import json
import sys
import time


def random_timm_checkpoint(architecture, seed, folder):
    """Writes a randomly initialised timm `architecture` as a local checkpoint folder."""
    import os

    import timm
    import torch

    torch.manual_seed(seed)
    model = timm.create_model(architecture, pretrained=False, num_classes=0)
    os.makedirs(folder, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(folder, "pytorch_model.bin"))
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as f:
        config = {"architecture": architecture, "num_features": model.num_features}
        json.dump({**config, "pretrained_cfg": dict(model.pretrained_cfg)}, f, default=str)
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name in ("train", "validation", "test", "output_dir", "result"):
        parser.add_argument(f"--{name.replace('_', '-')}", required=True)
    parser.add_argument("--label", default="label")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=300)
    parser.add_argument("--hyperparameters", help="JSON dict passed to fit (default: none)")
    parser.add_argument("--random-timm", help="timm architecture, randomly initialised")
    parser.add_argument("--drop", nargs="*", default=[], help="columns left out of every split")
    args = parser.parse_args()

    start = time.perf_counter()
    import numpy as np
    import pandas as pd
    import torch
    from autogluon.multimodal import MultiModalPredictor
    from autogluon.multimodal import __version__ as ag_version

    def read(path):
        return pd.read_csv(path).drop(columns=args.drop)

    train, validation, test = read(args.train), read(args.validation), read(args.test)
    hyperparameters = json.loads(args.hyperparameters) if args.hyperparameters else None
    if args.random_timm:
        hyperparameters = dict(hyperparameters or {})
        hyperparameters["model.timm_image.checkpoint_name"] = random_timm_checkpoint(
            args.random_timm, args.seed, f"{args.output_dir}-random-{args.random_timm}"
        )
    predictor = MultiModalPredictor(label=args.label, path=args.output_dir, eval_metric="accuracy")
    imported = time.perf_counter()
    predictor.fit(
        train,
        tuning_data=validation,
        time_limit=args.time_limit,
        seed=args.seed,
        hyperparameters=hyperparameters,
    )
    fitted = time.perf_counter()
    metrics = predictor.evaluate(test, metrics=["accuracy"])
    predicted = np.asarray(predictor.predict(test.drop(columns=[args.label]))).astype(str)
    scored = time.perf_counter()

    truth = test[args.label].astype(str).to_numpy()
    correct = truth == predicted
    recalls = [float(correct[truth == c].mean()) for c in sorted(set(truth))]
    result = {
        "test_accuracy": float(correct.mean()),
        "test_macro_recall": float(np.mean(recalls)),
        "test_samples": int(len(truth)),
        "autogluon_evaluate": {k: float(v) for k, v in metrics.items()},
        "seconds": {
            "import_and_build": imported - start,
            "fit": fitted - imported,
            "evaluate_and_predict": scored - fitted,
        },
        "versions": {
            "autogluon.multimodal": ag_version,
            "torch": torch.__version__,
            "python": sys.version.split()[0],
            "torch_threads": torch.get_num_threads(),
        },
    }
    with open(args.result, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    print(json.dumps({"test_accuracy": result["test_accuracy"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
