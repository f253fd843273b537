"""`AtomicModelCheckpoint`: `best.keras` and `last.keras`, written atomically."""

import json
import os

import keras
import numpy as np

from mmkeras.atomic_files import atomic_path, write_text


class AtomicModelCheckpoint(keras.callbacks.Callback):
    """Saves the model after every epoch (`last.keras`) and when it improves (`best.keras`).

    `best.json` beside them says which epoch `best.keras` is from, and its monitored value.

    Unlike `keras.callbacks.ModelCheckpoint`, each file is written under a temporary name and
    renamed, so a crash while saving never leaves a truncated model where a good one was. Its
    state (the best value so far) can be saved and restored, so a resumed run does not replace
    the best model with a worse one.

    Args:
        folder: directory of the two files.
        monitor: the log entry compared across epochs (e.g. `"val_loss"`); when the logs lack
            it (no validation data), `"loss"` is used.
        mode: `"min"`, `"max"` or `"auto"` (max for accuracy/AUC-like names, else min).
        model_to_save: optional function `model -> keras.Model` picking what to save (e.g. the
            student of a `Distiller`).

    Example:
    >>> model.fit(ds, callbacks=[AtomicModelCheckpoint("run/checkpoints")])
    """

    def __init__(self, folder, monitor="val_loss", mode="auto", model_to_save=None):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(
                f"AtomicModelCheckpoint `mode` must be 'auto', 'min' or 'max', received {mode!r}."
            )
        self.folder = folder
        self.monitor = monitor
        self.mode = mode
        self.model_to_save = model_to_save
        self.best = None

    @property
    def best_path(self):
        return os.path.join(self.folder, "best.keras")

    @property
    def last_path(self):
        return os.path.join(self.folder, "last.keras")

    def _maximize(self, name):
        if self.mode != "auto":
            return self.mode == "max"
        return any(k in name for k in ("acc", "auc", "f1", "precision", "recall"))

    def _save(self, path):
        model = self.model_to_save(self.model) if self.model_to_save else self.model
        with atomic_path(path) as tmp:
            model.save(tmp)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        os.makedirs(self.folder, exist_ok=True)
        self._save(self.last_path)
        name = self.monitor if self.monitor in logs else "loss"
        value = logs.get(name)
        if value is None or not np.isfinite(value):
            return
        value = float(value)
        better = self.best is None or (
            value > self.best if self._maximize(name) else value < self.best
        )
        if better:
            self.best = value
            self._save(self.best_path)
            # Written after the model: `best.json` never names an epoch `best.keras` lacks.
            info = {"epoch": int(epoch) + 1, "monitor": name, "value": value}
            write_text(self.best_info_path, json.dumps(info))

    @property
    def best_info_path(self):
        return os.path.join(self.folder, "best.json")

    def get_state(self):
        return {"best": self.best}

    def set_state(self, state):
        self.best = state.get("best")


def read_best_info(folder):
    """`{"epoch", "monitor", "value"}` of the best checkpoint in `folder`, or None.

    `epoch` counts from 1, as training prints it.
    """
    path = os.path.join(folder, "best.json")
    if not os.path.isfile(path) or not os.path.isfile(os.path.join(folder, "best.keras")):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except ValueError:
        return None
