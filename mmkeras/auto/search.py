"""The `Predictor`'s search: KerasTuner draws each trial's values, mmkeras trains it as a run.

A trial is a normal mmkeras run (`mk.train.fit` of the configuration `trial_config` writes),
in `path/trials/<trial>`. After training, the run predicts the tuning rows; the score of those
predictions (`scoring.score`) is what KerasTuner maximises, and the predictions are kept for
ensembling. The search stops at the time limit: no trial starts when too little time is left
for it, and each trial's training is stopped at the search's deadline (`train.time_limit`).
"""

import time

import keras_tuner
import numpy as np

from mmkeras.auto.presets import define_space
from mmkeras.auto.scoring import score
from mmkeras.auto.trial_config import TARGET, trial_config


class DeadlineOracle(keras_tuner.oracles.RandomSearchOracle):
    """Random search whose first trial takes the space's defaults and that stops at a deadline.

    Args:
        deadline: float, `time.monotonic()` after which no trial starts.
        min_seconds: callable returning the least time a new trial needs (seconds).
        **kwargs: for `RandomSearchOracle`.
    """

    def __init__(self, deadline, min_seconds, **kwargs):
        super().__init__(**kwargs)
        self.deadline = deadline
        self.min_seconds = min_seconds
        self.defaults_tried = False

    def populate_space(self, trial_id):
        if self.deadline - time.monotonic() < self.min_seconds():
            return {"status": keras_tuner.engine.trial.TrialStatus.STOPPED, "values": None}
        if not self.defaults_tried:
            self.defaults_tried = True
            return {
                "status": keras_tuner.engine.trial.TrialStatus.RUNNING,
                "values": self.hyperparameters.values,
            }
        return super().populate_space(trial_id)


class TrialFailed(Exception):
    """The first trial failed: the data or the settings are at fault, not the values drawn."""


class Search(keras_tuner.engine.base_tuner.BaseTuner):
    """Trains the trials of a `Predictor`; `records` lists them (the leaderboard's rows).

    Args:
        setup: dict with `plans`, `label`, `problem_type`, `preset`, `manifests`, `tuning`
            (the tuning records), `trials_dir`, `seed`, `deadline`, `verbose`.
        oracle: a `DeadlineOracle`.
    """

    def __init__(self, setup, oracle, directory):
        super().__init__(oracle, directory=directory, project_name="tuner", overwrite=True)
        self.setup = setup
        self.records = []
        self.outputs = {}
        self.targets = None

    def typical_seconds(self):
        """The median time of the trials so far (0 before the first)."""
        times = [r["seconds"] for r in self.records if r["status"] == "ok"]
        return float(np.median(times)) if times else 0.0

    def run_trial(self, trial, *args, **kwargs):
        import mmkeras as mk
        from mmkeras.evaluate.manifest_predictions import predict_records

        s = self.setup
        values = define_space(trial.hyperparameters, s["preset"], [p.kind for p in s["plans"]])
        number = len(self.records) + 1
        name = f"trial_{number:03d}"
        started = time.monotonic()
        left = s["deadline"] - started
        self._say(
            f"trial {number} of at most {s['num_trials']}"
            + (f", {left:.0f} s left: " if left != float("inf") else ": ")
            + ", ".join(f"{k}={_short(v)}" for k, v in values.items())
        )
        config = trial_config(
            s["plans"],
            s["label"],
            s["problem_type"],
            values,
            s["preset"],
            s["manifests"],
            name,
            s["trials_dir"],
            s["seed"] + number - 1,
            # The trial's own prediction of the tuning rows needs a little time after training.
            max(left - s["predict_seconds"], 1.0),
        )
        record = {"trial": name, **values, "status": "failed", "seconds": 0.0}
        self.records.append(record)
        try:
            run = mk.train.fit(mk.config.from_dict(config, base_dir=s["trials_dir"]), verbose=False)
            outputs, targets = predict_records(run.model, run.pipeline, s["tuning"])
        except Exception as e:
            record["seconds"] = time.monotonic() - started
            record["error"] = f"{type(e).__name__}: {e}"
            if number == 1:
                raise keras_tuner.errors.FatalError(str(e)) from TrialFailed(e)
            self._say(f"  trial {number} failed: {record['error']}")
            raise keras_tuner.errors.FailedTrialError(str(e)) from e
        value = score(s["problem_type"], targets[TARGET], outputs[TARGET])
        self.outputs[name] = outputs[TARGET]
        self.targets = targets[TARGET]
        epochs = len(run.history)
        record.update(status="ok", score=value, seconds=time.monotonic() - started, epochs=epochs)
        best = max(r["score"] for r in self.records if r["status"] == "ok")
        self._say(
            f"  trial {number}: tuning score {value:.4f} in {record['seconds']:.0f} s "
            f"({epochs} epochs); best so far {best:.4f}"
        )
        return {"score": value}

    def save(self):
        """The leaderboard is the search's record (`predictor.json`): no tuner file is kept."""

    def _say(self, text):
        if self.setup["verbose"]:
            print(text, flush=True)


def _short(value):
    return f"{value:.2g}" if isinstance(value, float) else str(value)


def run_search(setup, num_trials, seed, directory):
    """Runs the trials of `setup` (see `Search`) in `directory`; returns the `Search`.

    Raises:
        The first trial's own error, when the first trial fails (the data or the settings are
        at fault, and every other trial would fail alike).
    """
    search = None

    def min_seconds():
        # A new trial needs about half the time a trial took so far to be worth starting.
        return 0.5 * search.typical_seconds() if search else 0.0

    oracle = DeadlineOracle(
        setup["deadline"],
        min_seconds,
        objective=keras_tuner.Objective("score", direction="max"),
        max_trials=num_trials,
        # KerasTuner takes a seed of 0 as no seed (and draws one at random).
        seed=seed + 1,
    )
    search = Search(setup, oracle, directory)
    try:
        search.search(verbose=0)  # the trials print their own progress
    except keras_tuner.errors.FatalError as e:
        cause = e.__cause__
        if isinstance(cause, TrialFailed) and isinstance(cause.args[0], Exception):
            raise cause.args[0] from None
        raise
    return search
