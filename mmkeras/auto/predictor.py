"""`Predictor`: a table of files and columns in, a tuned multimodal model out."""

import json
import os
import time

import numpy as np

from mmkeras.argument_checks import (
    check_choice,
    check_int,
    check_positive_int,
    check_positive_number,
)
from mmkeras.auto import column_types as ct
from mmkeras.auto.presets import get_preset
from mmkeras.auto.scoring import class_probabilities, decode
from mmkeras.auto.tables import absolute_paths, check_columns, read_table, write_manifest
from mmkeras.auto.trial_config import (
    HEAD_KIND,
    TARGET,
    InputPlan,
    path_columns,
    plan_columns,
    plan_inputs,
)

STATE_FILE = "predictor.json"
# Share of the time limit kept for choosing the ensemble and saving (at least this many seconds).
RESERVE_SHARE, RESERVE_SECONDS = 0.05, 5.0
TUNING_SHARE = 0.2
ERRORS = ("raise", "skip")


class Predictor:
    """Infers what each column holds, searches for a good multimodal model, and ensembles.

    `fit` reads a table (a CSV, or a pandas DataFrame) whose cells are image and audio paths
    (relative to the CSV's folder), texts, numbers and categories, with gaps where values are
    missing. It infers each column's type and the problem (binary, multiclass, regression,
    multi-label), prints them, trains trials drawn by KerasTuner from the preset's search space
    until `time_limit`, and keeps the best trial, or a weighted ensemble of the best trials
    when that scores better on the tuning data. Every trial is an ordinary mmkeras run in
    `path/trials/`. Missing values are data: numeric gaps are imputed from the training rows
    (with an indicator), an empty text is a valid text, and an empty image or audio cell marks
    that input absent for the row.

    Args:
        label: str, the column to predict.
        path: str, the folder the predictor writes (default: `runs/predictor-<time>`).
        problem_type: None (inferred) or one of `"binary"`, `"multiclass"`, `"regression"`,
            `"multi_label"` (labels joined by `|`).
        preset: `"fast"`, `"medium"` (default) or `"best"` (see `mmkeras.auto.PRESETS`).
        column_types: optional `{column: type}` overriding the inferred types (`"image"`,
            `"audio"`, `"text"`, `"categorical"`, `"numeric"`, `"ignore"`).
        encoders: optional `{column: checkpoint}`: image, audio or text columns read by a
            pretrained encoder (`mk.branches.pretrained`: a keras-hub preset name,
            `"hf://org/name"` or a local folder), frozen; the other columns get branches
            trained from scratch.
        seed: int, seed of the search and of the trials.
        verbose: bool, print the column summary and each trial's progress.

    Example:
    >>> pred = mk.Predictor(label="label", path="runs/pred")
    >>> pred.problem_type is None  # known after `fit`
    True
    """

    def __init__(
        self,
        label,
        path=None,
        problem_type=None,
        preset="medium",
        column_types=None,
        encoders=None,
        seed=0,
        verbose=True,
    ):
        if not isinstance(label, str) or not label:
            raise ValueError(f"Predictor: `label` must be a column name, received {label!r}.")
        check_choice("problem_type", problem_type, (None, *ct.PROBLEM_TYPES), "Predictor")
        get_preset(preset)
        check_int("seed", seed, where="Predictor")
        self.label = label
        self.path = os.path.abspath(path or time.strftime("runs/predictor-%Y%m%d-%H%M%S"))
        self.problem_type = problem_type
        self.preset = preset
        self.column_types = dict(column_types or {})
        if not isinstance(encoders, (dict, type(None))):
            raise ValueError(
                f"Predictor: `encoders` must be a dict {{column: checkpoint}} or None, "
                f"received {type(encoders).__name__}."
            )
        self.encoders = dict(encoders or {})
        self.seed = seed
        self.verbose = verbose
        self.plans = None
        self.records = []
        self.members = {}
        self.ensemble_score = None
        self.class_names = None
        self._models = {}
        self._model = None
        self._pipeline = None

    # === Fitting ===

    def fit(self, train_data, tuning_data=None, time_limit=None, num_trials=None):
        """Infers the columns and the problem, searches, ensembles; returns `self`.

        Args:
            train_data: a CSV path or a pandas DataFrame with the label column.
            tuning_data: the same for the rows that pick epochs, trials and the ensemble
                (default: 20% of `train_data`, drawn with the seed).
            time_limit: seconds for the whole fit (None: no limit). The search stops early
                enough to finish within about 10% of it.
            num_trials: int, most trials (None: the preset's `max_trials`). The search ends at
                whichever of `time_limit` and `num_trials` comes first.
        """
        started = time.monotonic()
        check_positive_number("time_limit", time_limit, "Predictor.fit", allow_none=True)
        check_positive_int("num_trials", num_trials, "Predictor.fit", allow_none=True)
        preset = get_preset(self.preset)
        frame, base_dir = self._labelled(train_data, "train_data")
        if tuning_data is None:
            rng = np.random.default_rng(self.seed)
            tuning_rows = rng.random(len(frame)) < TUNING_SHARE
            tuning, tuning_dir = frame[tuning_rows], base_dir
            frame = frame[~tuning_rows]
            self._say(f"tuning data: {len(tuning)} rows held out of the training data")
        else:
            tuning, tuning_dir = self._labelled(tuning_data, "tuning_data")
        types = ct.infer_column_types(frame, self.label, self.column_types)
        self.problem_type = self.problem_type or ct.infer_problem_type(list(frame[self.label]))
        self._say(ct.describe_columns(frame, self.label, types, self.problem_type))
        self.column_types = types
        self.plans = plan_inputs(frame, base_dir, types, self.encoders)
        if not self.plans:
            raise ValueError(
                f"Predictor.fit: no column can be used as an input (types: {types}); "
                "give `column_types` for the columns to use."
            )
        used = [self.label, *plan_columns(self.plans)]
        check_columns(tuning, used, "tuning_data")
        paths = path_columns(self.plans)
        data_dir = os.path.join(self.path, "data")
        manifests = {
            "train": write_manifest(
                frame[used], base_dir, paths, os.path.join(data_dir, "train.csv")
            ),
            "validation": write_manifest(
                tuning[used], tuning_dir, paths, os.path.join(data_dir, "tuning.csv")
            ),
        }
        self._search(preset, manifests, started, time_limit, num_trials or preset.max_trials)
        self._choose(preset)
        self.save()
        self._say(self._summary(time.monotonic() - started))
        return self

    def _labelled(self, data, what):
        frame, base_dir = read_table(data, what)
        if self.label not in frame.columns:
            raise ValueError(
                f"Predictor: {what} has no label column {self.label!r}; "
                f"columns: {list(frame.columns)}."
            )
        empty = np.array([not v.strip() for v in frame[self.label]])
        if empty.all():
            raise ValueError(f"Predictor: every label of {what} is empty.")
        if empty.any():
            self._say(f"{what}: {int(empty.sum())} rows without a label are left out")
        return frame[~empty], base_dir

    def _search(self, preset, manifests, started, time_limit, num_trials):
        from mmkeras.auto.search import run_search
        from mmkeras.data import read_manifest

        tuning, _, _ = read_manifest(manifests["validation"])
        if time_limit is None:
            deadline = float("inf")
        else:
            reserve = max(RESERVE_SECONDS, RESERVE_SHARE * time_limit)
            deadline = started + time_limit - reserve
        setup = {
            "plans": self.plans,
            "label": self.label,
            "problem_type": self.problem_type,
            "preset": preset,
            "num_trials": num_trials,
            "manifests": manifests,
            "tuning": tuning,
            "trials_dir": os.path.join(self.path, "trials"),
            "seed": self.seed,
            "deadline": deadline,
            "predict_seconds": 3.0 + len(tuning) / 100.0,
            "verbose": self.verbose,
        }
        search = run_search(setup, num_trials, self.seed, os.path.join(self.path, "search"))
        self.records = search.records
        self._outputs, self._targets = search.outputs, search.targets
        if not self._outputs:
            raise RuntimeError(
                f"Predictor.fit: no trial finished (see {os.path.join(self.path, 'trials')}); "
                "give a longer `time_limit`."
            )

    def _choose(self, preset):
        from mmkeras.auto.scoring import choose_members

        self.members, self.ensemble_score, message = choose_members(
            self.problem_type, self.records, self._outputs, self._targets, preset.ensemble
        )
        self._say(message)
        self._load_members()

    def _summary(self, seconds):
        ok = [r for r in self.records if r["status"] == "ok"]
        best = max(r["score"] for r in ok)
        kept = ", ".join(f"{t} ({w:.2f})" for t, w in self.members.items())
        return (
            f"fit in {seconds:.0f} s: {len(ok)} trials of {len(self.records)} finished, best "
            f"tuning score {best:.4f}; model: {kept}; saved in {self.path}"
        )

    # === The model ===

    def _load_members(self):
        from mmkeras.train import Run

        for trial in self.members:
            if trial not in self._models:
                run = Run.load(os.path.join(self.path, "trials", trial))
                self._models[trial] = run.model
                if self._pipeline is None:
                    # Every trial reads the same data settings: one pipeline serves them all.
                    self._pipeline = run.pipeline
        models = [self._models[t] for t in self.members]
        if len(models) == 1:
            self._model = models[0]
        else:
            from mmkeras.models import EnsembleModel

            self._model = EnsembleModel(models, list(self.members.values()), name="ensemble")
        labels = self._pipeline.labels
        self.class_names = [str(c) for c in labels] if labels is not None else None

    @property
    def model(self):
        """The Keras model that predicts (a trial's `MultimodalModel` or an `EnsembleModel`)."""
        self._check_fitted("model")
        return self._model

    @property
    def pipeline(self):
        """The `mmkeras.data.Pipeline` that reads the model's inputs."""
        self._check_fitted("pipeline")
        return self._pipeline

    def _check_fitted(self, what):
        if self._model is None:
            raise RuntimeError(f"Predictor.{what}: call `fit` (or `Predictor.load`) first.")

    # === Predicting ===

    def _records(self, data, what, with_labels):
        from mmkeras.evaluate.manifest_predictions import placeholder

        frame, base_dir = read_table(data, what)
        check_columns(frame, plan_columns(self.plans), what)
        if with_labels and self.label not in frame.columns:
            raise ValueError(f"Predictor.{what}: the data has no label column {self.label!r}.")
        frame = absolute_paths(frame, base_dir, path_columns(self.plans))
        records = frame.to_dict("records")
        if not with_labels:
            for row in records:
                row[self.label] = placeholder(self._pipeline, TARGET)
        return records

    def _outputs_for(self, data, what, errors, with_labels):
        from mmkeras.evaluate.manifest_predictions import predict_records, row_errors

        self._check_fitted(what)
        check_choice("errors", errors, ERRORS, f"Predictor.{what}")
        records = self._records(data, what, with_labels)
        problems = row_errors(self._pipeline.validate(records))
        if problems and errors == "raise":
            listed = "; ".join(f"row {r}: {t}" for r, t in list(problems.items())[:5])
            raise ValueError(
                f"Predictor.{what}: {len(problems)} of {len(records)} rows cannot be used "
                f"({listed}); fix them, or pass errors='skip' to leave them out."
            )
        good = [i for i in range(len(records)) if i not in problems]
        if problems:
            self._say(f"{what}: {len(problems)} of {len(records)} rows cannot be used, left out")
        if not good:
            raise ValueError(f"Predictor.{what}: no row can be used.")
        outputs, targets = predict_records(self._model, self._pipeline, [records[i] for i in good])
        return len(records), good, outputs[TARGET], targets[TARGET]

    def predict_proba(self, data, errors="raise"):
        """Class (or label) probabilities, a DataFrame with one column per class.

        Rows that cannot be used (an unreadable file) raise a `ValueError` naming them, or with
        `errors="skip"` get NaN probabilities (and are counted in the output).
        """
        import pandas as pd

        if self.problem_type == ct.REGRESSION:
            raise ValueError(
                "Predictor.predict_proba: a regression has no probabilities; use `predict`."
            )
        n, good, outputs, _ = self._outputs_for(data, "predict_proba", errors, False)
        outputs = class_probabilities(np.asarray(outputs, np.float64))
        full = np.full((n, outputs.shape[1]), np.nan)
        full[good] = outputs
        return pd.DataFrame(full, columns=self.class_names)

    def predict(self, data, errors="raise"):
        """Predicted labels (or values), a pandas Series in the order of the rows.

        Classification: the most probable class; multi-label: the labels with probability at
        least 0.5 joined by `|`; regression: the value. Unusable rows: see `predict_proba`.
        """
        import pandas as pd

        n, good, outputs, _ = self._outputs_for(data, "predict", errors, False)
        values = [None] * n
        for i, out in zip(good, decode(self.problem_type, outputs, self.class_names), strict=True):
            values[i] = out
        return pd.Series(values, name=self.label)

    def evaluate(self, data, errors="raise"):
        """Metrics on labelled `data`, as `mk.evaluate.report` computes them: a dict."""
        from mmkeras.evaluate import Report

        _, _, outputs, targets = self._outputs_for(data, "evaluate", errors, True)
        report = Report.from_predictions(
            targets, outputs, task=HEAD_KIND[self.problem_type], labels=self.class_names
        )
        return report.to_dict()["outputs"]["output"]["metrics"]

    def leaderboard(self):
        """The trials, best first: their values, tuning score, time and epochs; and the ensemble."""
        import pandas as pd

        self._check_fitted("leaderboard")
        rows = [dict(r) for r in self.records]
        if len(self.members) > 1:
            rows.append(
                {
                    "trial": "ensemble",
                    "status": "ok",
                    "score": self.ensemble_score,
                    "members": ", ".join(f"{t}:{w:.2f}" for t, w in self.members.items()),
                }
            )
        for row in rows:
            row["kept"] = row["trial"] in self.members or (
                row["trial"] == "ensemble" and len(self.members) > 1
            )
        frame = pd.DataFrame(rows)
        return frame.sort_values("score", ascending=False, na_position="last").reset_index(
            drop=True
        )

    # === Saving ===

    def save(self):
        """Writes `path/predictor.json` (the trials' runs are already in `path/trials`)."""
        from mmkeras.atomic_files import write_json
        from mmkeras.version import __version__

        self._check_fitted("save")
        state = {
            "version": __version__,
            "label": self.label,
            "problem_type": self.problem_type,
            "preset": self.preset,
            "seed": self.seed,
            "column_types": self.column_types,
            "encoders": self.encoders,
            "inputs": [p.to_dict() for p in self.plans],
            "members": self.members,
            "ensemble_score": self.ensemble_score,
            "trials": self.records,
        }
        write_json(os.path.join(self.path, STATE_FILE), state, indent=2)
        return self.path

    @classmethod
    def load(cls, path, verbose=True):
        """The `Predictor` saved in `path` (by `fit`), ready to predict."""
        file = os.path.join(path, STATE_FILE)
        if not os.path.isfile(file):
            raise ValueError(
                f"Predictor.load: {path!r} holds no {STATE_FILE} (is it a Predictor's path?)."
            )
        with open(file, encoding="utf-8") as f:
            state = json.load(f)
        pred = cls(
            state["label"],
            path=path,
            problem_type=state["problem_type"],
            preset=state["preset"],
            column_types=state["column_types"],
            encoders=state.get("encoders"),
            seed=state["seed"],
            verbose=verbose,
        )
        pred.plans = [InputPlan(**p) for p in state["inputs"]]
        pred.members = state["members"]
        pred.ensemble_score = state["ensemble_score"]
        pred.records = state["trials"]
        pred._load_members()
        return pred

    def export(self, path, overwrite=True):
        """A SavedModel of the kept model whose `serving_default` takes raw bytes and strings."""
        from mmkeras.export import saved_model

        self._check_fitted("export")
        return saved_model(self._model, self._pipeline, path, overwrite=overwrite)

    def _say(self, text):
        if self.verbose:
            print(text, flush=True)

    def __repr__(self):
        return (
            f"Predictor(label={self.label!r}, problem_type={self.problem_type!r}, "
            f"preset={self.preset!r}, path={self.path!r})"
        )
