"""The callbacks of a run, and the settings that decide which ones it gets."""

import csv
import os

from mmkeras.atomic_files import atomic_path
from mmkeras.config import ConfigError
from mmkeras.train.run import parse_history

METRICS_CSV = "metrics.csv"


def trim_csv(path, first_epoch):
    """Drops CSV rows of epochs at or after `first_epoch` (they are trained again).

    Damaged lines are dropped too, so the log the resumed run appends to is clean.
    """
    if not os.path.isfile(path):
        return
    header, rows, _ = parse_history(path)
    if not header:
        return
    kept = [header] + [values for _, epoch, values in rows if epoch < first_epoch]
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(kept)


def _monitor(name, has_validation):
    if name.startswith("val_") and not has_validation:
        return name[len("val_") :]
    return name


def make_callbacks(config, run_dir, has_validation, model_to_save):
    """`(stateful, plain)` callbacks of `config.callbacks` and `config.schedule`.

    The stateful ones (checkpoint, early stopping, plateau schedule) have their state backed
    up and restored with a resumed run; the plain ones (CSV log, TensorBoard) have none.
    """
    import keras

    from mmkeras.train.atomic_model_checkpoint import AtomicModelCheckpoint

    cbs = config.callbacks
    stateful = [
        AtomicModelCheckpoint(
            os.path.join(run_dir, "checkpoints"),
            monitor=_monitor(cbs.checkpoint.monitor, has_validation),
            mode=cbs.checkpoint.mode,
            model_to_save=model_to_save,
        )
    ]
    if cbs.early_stopping is not None:
        es = cbs.early_stopping
        stateful.append(
            keras.callbacks.EarlyStopping(
                monitor=_monitor(es.monitor, has_validation),
                patience=es.patience,
                min_delta=es.min_delta,
                mode=es.mode,
                restore_best_weights=es.restore_best_weights,
            )
        )
    if config.schedule.name == "plateau":
        sc = config.schedule
        stateful.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=_monitor(sc.monitor, has_validation),
                factor=sc.factor,
                patience=sc.patience,
                min_lr=sc.min_learning_rate,
                verbose=1 if fit_verbosity(config.train.verbose) else 0,
            )
        )
    plain = []
    if config.train.time_limit is not None:
        from mmkeras.train.time_limit import TimeLimit

        plain.append(TimeLimit(config.train.time_limit))
    if cbs.csv_log:
        plain.append(keras.callbacks.CSVLogger(os.path.join(run_dir, METRICS_CSV), append=True))
    if tensorboard_enabled(cbs.tensorboard):
        plain.append(keras.callbacks.TensorBoard(log_dir=os.path.join(run_dir, "logs")))
    return stateful, plain


def tensorboard_enabled(setting):
    """Whether `callbacks.tensorboard` (true, false or `auto`) writes TensorBoard logs here.

    Raises:
        ConfigError: `true` where the optional `tensorboard` package is not installed.
    """
    import importlib.util

    installed = importlib.util.find_spec("tensorboard") is not None
    if setting == "auto":
        return installed
    if setting and not installed:
        raise ConfigError(
            [
                "callbacks.tensorboard: true, but the tensorboard package is not installed; "
                "install it (pip install tensorboard), or set callbacks.tensorboard: auto "
                "(logs when it is installed) or false"
            ]
        )
    return bool(setting)


def fit_verbosity(setting):
    """`model.fit`'s `verbose` for `train.verbose`: `auto` is a progress bar on a terminal only.

    A progress bar redraws itself many times a second: fine on a terminal, a flood of lines in a
    log file or a CI job, which get one line per epoch instead.
    """
    import sys

    if setting != "auto":
        return setting
    in_ci = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
    return 1 if sys.stdout.isatty() and not in_ci else 2
