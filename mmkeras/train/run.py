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
    >>> run = mmkeras.train.Run.load("runs/digits")
    >>> ds = run.pipeline.dataset("test.csv", batch_size=64)
    >>> run.model.evaluate(ds)
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
            model = keras.saving.load_model(model_path, safe_mode=True)
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


def read_history(path):
    """Rows of a Keras CSV log as dicts of floats (`epoch` as int); [] when there is none."""
    if not os.path.isfile(path):
        return []
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        # CSVLogger writes "NA" for the val_* columns it adds when there is no validation.
        parsed = {k: float(v) for k, v in row.items() if v not in ("", None, "NA")}
        parsed["epoch"] = int(parsed.get("epoch", len(out)))
        out.append(parsed)
    return out


def _read_json(path):
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)
