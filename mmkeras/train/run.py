"""`Run`: the results of a training run, read back from its directory."""

import csv
import json
import os


class Run:
    """A training run directory and what it holds.

    Attributes:
        run_dir: the directory.
        config: the resolved `RunConfig` (every `auto` filled in).
        model: the trained `keras.Model` (`model.keras`; for distillation, the student).
        pipeline: the adapted `mmkeras.data.Pipeline` (vocabularies, labels, statistics).
        history: list of dicts, one per epoch, from `metrics.csv`.
        metrics: dict of final metrics per split (`metrics.json`).

    Example:
    >>> run = mmkeras.train.Run.load("runs/pets")
    >>> ds = run.pipeline.dataset("val.csv", batch_size=64)
    >>> sorted(run.model.evaluate(ds, verbose=0, return_dict=True))
    ['accuracy', 'loss']
    """

    def __init__(self, run_dir, config, model, pipeline, history, metrics):
        self.run_dir = run_dir
        self.config = config
        self.model = model
        self.pipeline = pipeline
        self.history = history
        self.metrics = metrics

    @classmethod
    def load(cls, run_dir, model=None, pipeline=None):
        """Reads a finished run (`config.yaml`, `pipeline/`, `model.keras`, logs).

        Raises:
            FileNotFoundError: the directory has no finished run.
        """
        import keras

        register_custom_objects()
        from mmkeras.config import load
        from mmkeras.data import Pipeline

        run_dir = os.path.abspath(os.fspath(run_dir))
        model_path = os.path.join(run_dir, "model.keras")
        if model is None and not os.path.isfile(model_path):
            raise FileNotFoundError(
                f"{run_dir} holds no finished run (no model.keras); train it with "
                "`mmkeras train CONFIG.yaml`."
            )
        config = load(os.path.join(run_dir, "config.yaml"))
        if pipeline is None:
            pipeline = Pipeline.load(os.path.join(run_dir, "pipeline"))
        if model is None:
            from mmkeras.models.keras_file import check_keras_file

            model = keras.saving.load_model(check_keras_file(model_path), safe_mode=True)
        return cls(
            run_dir,
            config,
            model,
            pipeline,
            read_history(os.path.join(run_dir, "metrics.csv")),
            _read_json(os.path.join(run_dir, "metrics.json")),
        )

    def __repr__(self):
        return f"Run({self.run_dir!r}, epochs={len(self.history)})"


def register_custom_objects():
    """Imports the packages whose registered classes saved models may hold."""
    import importlib

    for module in (
        "mmkeras.layers",
        "mmkeras.tasks",
        "mmkeras.models",
        "mmkeras.train.warmup_cosine",
        "mmkeras.train.finetune",
        "mmkeras.layers.bert",
    ):
        try:
            importlib.import_module(module)
        except ImportError:
            pass


class HistoryWarning(UserWarning):
    """A line of a run's `metrics.csv` could not be read and was left out."""


def parse_history(path):
    """Reads a Keras CSV log, tolerating damaged lines.

    Returns:
        `(header, rows, bad)`: the column names, the good rows as `(line, epoch, values)` with
        `values` the raw strings, and the damaged lines as `(line, reason)` (line numbers from 1).
        A row whose epoch appears again later is replaced by the later one (a resumed epoch).
    """
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        lines = list(csv.reader(f))
    if not lines:
        return [], [], []
    header, body = lines[0], lines[1:]
    rows, bad = {}, []
    for number, values in enumerate(body, start=2):
        if not values:
            continue
        if len(values) != len(header):
            bad.append((number, f"{len(values)} fields where the header has {len(header)}"))
            continue
        try:
            for v in values:
                if v not in ("", "NA"):
                    float(v)
            epoch = int(float(values[0]))
        except ValueError:
            bad.append((number, f"not a row of numbers: {','.join(values)[:60]!r}"))
            continue
        rows.pop(epoch, None)
        rows[epoch] = (number, epoch, values)
    return header, sorted(rows.values(), key=lambda r: r[1]), bad


def read_history(path):
    """Rows of a Keras CSV log as dicts of floats (`epoch` as int); [] when there is none.

    Damaged lines (a crash in mid-write, a hand edit) are left out with a `HistoryWarning`
    naming the file and the line; they never stop `evaluate`, `export` or a resumed run.
    """
    import warnings

    if not os.path.isfile(path):
        return []
    header, rows, bad = parse_history(path)
    for number, reason in bad:
        warnings.warn(f"{path} line {number}: {reason}; line skipped", HistoryWarning, stacklevel=2)
    out = []
    for _, epoch, values in rows:
        # CSVLogger writes "NA" for the val_* columns it adds when there is no validation.
        parsed = {k: float(v) for k, v in zip(header, values, strict=True) if v not in ("", "NA")}
        parsed["epoch"] = epoch
        out.append(parsed)
    return out


def _read_json(path):
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)
