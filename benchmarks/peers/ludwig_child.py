"""One Ludwig run on AV-Digits: train, then evaluate on test; run by `ludwig_av_digits.py`.

This file runs under the Ludwig virtual environment's Python (Ludwig 0.11, torch, torchaudio),
never under mmkeras's: it imports nothing of mmkeras and only the standard library besides
Ludwig's own dependencies.

    /work/ludwig-venv/bin/python benchmarks/peers/ludwig_child.py \
        --config ludwig.yaml --train train.csv --validation validation.csv --test test.csv \
        --seed 0 --output-dir OUT --result result.json

The manifests must hold absolute file paths (the driver writes such copies).

Why `torchaudio.load` is replaced: Ludwig reads audio with `torchaudio.load(path, backend="sox")`
(`ludwig/utils/audio_utils.py`) and `torchaudio.load(path)` (`ludwig/features/audio_feature.py`).
From torchaudio 2.9 on, `load` is a thin wrapper over TorchCodec, which needs FFmpeg's shared
libraries; the sox backend is gone. Ludwig catches the error of each read, logs a warning and
fills the sample with the *mean of the readable clips*: with no clip readable it fails, but
a few unreadable clips would pass silently. So before Ludwig is imported, `torchaudio.load`
is replaced by `read_wav` below (Python's `wave` module: PCM WAV -> float32 tensor
`[channels, samples]` in [-1, 1), sample rate), which is what `torchaudio.load` returned for
these files with its default `normalize=True`. Every call and failure is counted, and the run
fails if any read failed. Only this process is patched; the installed packages are untouched.
"""

import argparse
import json
import logging
import os
import sys
import time
import wave

import numpy as np

WAV_READS = {"calls": 0, "errors": 0, "first_error": None}


def read_wav(uri, frame_offset=0, num_frames=-1, normalize=True, channels_first=True, **_):
    """`torchaudio.load` for PCM WAV files, without TorchCodec or FFmpeg.

    Args:
        uri: path or binary file-like object of a PCM WAV file (8, 16, 24 or 32-bit).
        frame_offset, num_frames, channels_first: as in `torchaudio.load`.
        normalize: float32 in [-1, 1) when True (torchaudio's default); the integer samples
            widened to int32 otherwise.

    Returns:
        `(waveform, sample_rate)`: a `torch.Tensor` `[channels, frames]` (or `[frames, channels]`
        when `channels_first` is False) and an int.
    """
    import torch

    WAV_READS["calls"] += 1
    try:
        with wave.open(uri if not isinstance(uri, os.PathLike) else os.fspath(uri), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            if w.getcomptype() != "NONE":
                raise ValueError(f"compressed WAV ({w.getcompname()}) is not supported")
            if frame_offset:
                w.setpos(frame_offset)
            raw = w.readframes(w.getnframes() if num_frames < 0 else num_frames)
        if width == 1:
            data = (np.frombuffer(raw, np.uint8).astype(np.int32) - 128) << 24
        elif width == 2:
            data = np.frombuffer(raw, "<i2").astype(np.int32) << 16
        elif width == 3:
            b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
            data = (b[:, 0] << 8) | (b[:, 1] << 16) | (b[:, 2] << 24)
        elif width == 4:
            data = np.frombuffer(raw, "<i4").astype(np.int32)
        else:
            raise ValueError(f"{width * 8}-bit samples are not supported")
        data = data.reshape(-1, channels)
        if normalize:
            data = (data / 2.0**31).astype(np.float32)
        else:
            data = data >> (32 - 8 * width)
        if channels_first:
            data = data.T
        return torch.from_numpy(np.ascontiguousarray(data)), rate
    except Exception as error:
        WAV_READS["errors"] += 1
        WAV_READS["first_error"] = WAV_READS["first_error"] or f"{uri}: {error!r}"
        raise


def patch_torchaudio():
    import torchaudio

    torchaudio.load = read_wav


def _metric_series(stats, feature, metric):
    values = stats.get(feature, {}).get(metric, [])
    return [
        float(getattr(v, "value", v[-1] if isinstance(v, (list, tuple)) else v)) for v in values
    ]


def _scalars(stats):
    out = {}
    for key, value in stats.items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            pass
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--train", required=True)
    parser.add_argument("--validation", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--result", required=True)
    args = parser.parse_args()

    start = time.perf_counter()
    patch_torchaudio()
    import torch
    import torchaudio
    import yaml
    from ludwig import __version__ as ludwig_version
    from ludwig.api import LudwigModel

    with open(args.config, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    model = LudwigModel(config, logging_level=logging.WARNING, backend="local")
    imported = time.perf_counter()
    train_stats, _, output_dir = model.train(
        training_set=args.train,
        validation_set=args.validation,
        output_directory=args.output_dir,
        random_seed=args.seed,
    )
    trained = time.perf_counter()
    # After `train`, the model holds the weights of the best validation round (Ludwig restores
    # its best checkpoint at the end of training), so this scores that epoch.
    test_stats, predictions, _ = model.evaluate(
        args.test, output_directory=args.output_dir, collect_predictions=True
    )
    evaluated = time.perf_counter()

    if WAV_READS["errors"]:
        print(f"WAV reads failed: {WAV_READS}", file=sys.stderr)
        return 2
    uses_audio = any(f.get("type") == "audio" for f in config["input_features"])
    if uses_audio and not WAV_READS["calls"]:
        print("the audio feature never called torchaudio.load: the patch missed", file=sys.stderr)
        return 2

    label = config["output_features"][0]["name"]
    # Ludwig's `accuracy` of a category output is torchmetrics' MulticlassAccuracy with its
    # default average="macro": the mean of the per-class recalls, not the fraction of correct
    # samples (that is `accuracy_micro`). Both are kept, and the fraction correct is also
    # counted here from the predictions, which is what mmkeras's `accuracy` is.
    import pandas as pd

    truth = pd.read_csv(args.test)[label].astype(str).str.strip().to_numpy()
    predicted = predictions[f"{label}_predictions"].astype(str).str.strip().to_numpy()
    if len(truth) != len(predicted):
        print(f"{len(predicted)} predictions for {len(truth)} test rows", file=sys.stderr)
        return 2
    correct = truth == predicted
    recalls = [float(correct[truth == c].mean()) for c in sorted(set(truth))]
    trainer = model.config_obj.trainer
    field, metric = trainer.validation_field, trainer.validation_metric
    validation = train_stats.validation if hasattr(train_stats, "validation") else train_stats[1]
    series = _metric_series(validation, field, metric)
    if series:
        better = max if metric in ("accuracy", "hits_at_k", "roc_auc") else min
        best_index = series.index(better(series))
    else:
        best_index = None
    result = {
        "test_accuracy": float(correct.mean()),
        "test_macro_recall": float(np.mean(recalls)),
        "test_samples": int(len(truth)),
        "ludwig_test_stats": _scalars(test_stats[label]),
        "validation_field": field,
        "validation_metric": metric,
        "validation_series": series,
        "validation_accuracy_micro_series": _metric_series(validation, label, "accuracy_micro"),
        "best_epoch": None if best_index is None else best_index + 1,
        "epochs_run": len(series),
        "seconds": {
            "import_and_build": imported - start,
            "preprocess_and_train": trained - imported,
            "evaluate": evaluated - trained,
        },
        "wav_reads": WAV_READS,
        "output_dir": output_dir,
        "versions": {
            "ludwig": ludwig_version,
            "torch": torch.__version__,
            "torchaudio": torchaudio.__version__,
            "python": sys.version.split()[0],
            "torch_threads": torch.get_num_threads(),
        },
    }
    with open(args.result, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    print(json.dumps({k: result[k] for k in ("test_accuracy", "best_epoch", "epochs_run")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
