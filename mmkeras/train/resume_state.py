"""`ResumeState`: backs up a training run so that a killed run resumes at the step it reached."""

import json
import os

import keras

from mmkeras import compat
from mmkeras.atomic_files import atomic_path, write_text

STATE_FILE = "state.json"


def read_state(backup_dir):
    """The last saved state dict of a run, or None when there is none."""
    path = os.path.join(backup_dir, STATE_FILE)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _seed_variables(model):
    # Dropout and other random layers keep their generator state in variables that
    # `save_weights` leaves out; without them a resumed run would draw other masks.
    return {v.path: v for v in model.variables if "seed_generator_state" in v.path}


class ResumeState(keras.callbacks.Callback):
    """Backs up weights, optimizer state, random-generator state and callback state.

    Keras's `BackupAndRestore` (3.15) saves the weights with an integer `save_freq` but records
    only the epoch, so a resumed run repeats the interrupted epoch from its first batch on
    weights that already saw part of it. This callback records the batch too, and `mmkeras.train`
    feeds a resumed run the rest of that epoch only (see `mmkeras.train.EpochEnder`), so a run killed at any
    moment ends with the same weights as an uninterrupted one.

    Files in `backup_dir`: `state.json` (stage, epoch, batch, callback state, seed-generator
    state, the name of the weights file) and `weights-<n>.weights.h5` (model and optimizer
    variables). Both are written under temporary names and renamed; the state names its
    weights file, so a kill between the two renames leaves the previous pair valid.

    Args:
        backup_dir: folder of the backup.
        stage: int, index of the fine-tuning stage being trained.
        every_steps: optional int, also back up every this many training batches.
        callbacks: other callbacks whose state is saved and restored (EarlyStopping,
            ReduceLROnPlateau, and any object with `get_state()` / `set_state(dict)`).
        restore: optional state dict (from `read_state`) to restore when training begins.

    Place it last in the callback list, so that it saves what the others did at an epoch's end.
    """

    def __init__(self, backup_dir, stage=0, every_steps=None, callbacks=(), restore=None):
        super().__init__()
        self.backup_dir = backup_dir
        self.stage = stage
        self.every_steps = every_steps
        self.callbacks = list(callbacks)
        self.restore = restore
        self.stage_done = False
        self._epoch = 0
        self._counter = 0 if restore is None else int(restore.get("counter", 0))
        self._restored_callbacks = False

    # --- saving --------------------------------------------------------------------------
    def _callback_states(self):
        states = {}
        for i, cb in enumerate(self.callbacks):
            key = f"{i}:{type(cb).__name__}"
            if hasattr(cb, "get_state"):
                states[key] = cb.get_state()
            else:
                states[key] = compat.callback_state(cb)
        return states

    def save(self, epoch, batch, stage_done=False):
        """Writes the state: `epoch` and `batch` say where the next training step starts."""
        os.makedirs(self.backup_dir, exist_ok=True)
        previous = read_state(self.backup_dir)
        self._counter += 1
        weights = f"weights-{self._counter}.weights.h5"
        with atomic_path(os.path.join(self.backup_dir, weights)) as tmp:
            self.model.save_weights(tmp, overwrite=True)
        state = {
            "stage": self.stage,
            "epoch": int(epoch),
            "batch": int(batch),
            "stage_done": bool(stage_done),
            "weights": weights,
            "counter": self._counter,
            "callbacks": self._callback_states(),
            "seed_generators": {
                path: keras.ops.convert_to_numpy(v).tolist()
                for path, v in _seed_variables(self.model).items()
            },
        }
        write_text(os.path.join(self.backup_dir, STATE_FILE), json.dumps(state, indent=1))
        if previous and previous.get("weights") not in (None, weights):
            old = os.path.join(self.backup_dir, previous["weights"])
            if os.path.exists(old):
                os.remove(old)

    # --- restoring -----------------------------------------------------------------------
    @staticmethod
    def load_weights(model, backup_dir, state):
        """Loads the weights, optimizer state and seed-generator state of `state` into `model`."""
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(os.path.join(backup_dir, state["weights"]))
        variables = _seed_variables(model)
        for path, value in state.get("seed_generators", {}).items():
            if path in variables:
                variables[path].assign(value)

    def _restore_callbacks(self):
        states = (self.restore or {}).get("callbacks", {})
        for i, cb in enumerate(self.callbacks):
            state = states.get(f"{i}:{type(cb).__name__}")
            if not state:
                continue
            if hasattr(cb, "set_state"):
                cb.set_state(state)
            else:
                compat.restore_callback_state(cb, state)

    # --- callback hooks ------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._batch = 0
        # The other callbacks reset themselves in on_train_begin; restore after that.
        if not self._restored_callbacks:
            self._restored_callbacks = True
            if self.restore is not None and self.restore.get("stage") == self.stage:
                self._restore_callbacks()
                self._batch = int(self.restore.get("batch", 0))

    def on_train_batch_end(self, batch, logs=None):
        self._batch += 1
        if self.every_steps and self._batch % self.every_steps == 0:
            self.save(self._epoch, self._batch)

    def on_epoch_end(self, epoch, logs=None):
        self.stage_done = bool(self.model.stop_training)
        self.save(epoch + 1, 0, stage_done=self.stage_done)
