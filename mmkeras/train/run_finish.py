"""The end of a run: the model to keep, its final metrics, and the backup marked complete."""

import json
import os

from mmkeras.atomic_files import atomic_path, write_text

BACKUP = "backup"


def _say(verbose, message):
    if verbose:
        print(message, flush=True)


def keep_best(config, run_dir, student, verbose):
    """Loads the best checkpoint's weights into `student` when the config keeps the best."""
    from mmkeras.train.atomic_model_checkpoint import read_best_info

    folder = os.path.join(run_dir, "checkpoints")
    info = read_best_info(folder)
    if config.callbacks.checkpoint.keep == "final" or info is None:
        _say(verbose, "  model.keras: the weights of the last epoch")
        return
    student.load_weights(os.path.join(folder, "best.keras"))
    _say(
        verbose,
        f"  model.keras: the weights of epoch {info['epoch']} (best {info['monitor']} "
        f"{info['value']:.4f}; the last epoch's are in checkpoints/last.keras)",
    )


def final_metrics(model, pipe, config, select, drop_remainder=False, options=None):
    """`{split: {metric: value}}` of `model` on the validation and test manifests."""
    out = {}
    for split in ("validation", "test"):
        manifest = getattr(config.data, split)
        if manifest is None:
            continue
        ds = pipe.dataset(
            manifest,
            training=False,
            batch_size=config.data.batch_size,
            errors=config.data.errors,
            drop_remainder=drop_remainder,
            verbose=False,
        ).map(select)
        if options is not None:
            ds = ds.with_options(options)
        values = model.evaluate(ds, verbose=0, return_dict=True)
        out[split] = {k: float(v) for k, v in values.items()}
    return out


def save_model(run_dir, student):
    """Writes `model.keras`, the model the run keeps."""
    with atomic_path(os.path.join(run_dir, "model.keras")) as tmp:
        student.save(tmp)


def write_results(run_dir, metrics, verbose):
    """Writes `metrics.json` and marks the backup of the run complete."""
    write_text(os.path.join(run_dir, "metrics.json"), json.dumps(metrics, indent=2))
    backup_dir = os.path.join(run_dir, BACKUP)
    for name in os.listdir(backup_dir):
        if name.endswith(".h5"):
            os.remove(os.path.join(backup_dir, name))
    write_text(os.path.join(backup_dir, "state.json"), json.dumps({"complete": True}))
    for split, values in metrics.items():
        shown = ", ".join(f"{k} {v:.4f}" for k, v in values.items())
        _say(verbose, f"  {split}: {shown}")
    _say(verbose, f"  saved {os.path.join(run_dir, 'model.keras')}")
