"""`Predictor`: predictions from an exported SavedModel, for Python users."""

import math
import os

import numpy as np

from mmkeras.export.metadata import read_metadata
from mmkeras.export.serving_head import ServingHead

_FILE_MODALITIES = ("image", "audio")


def _number(value):
    return math.nan if value is None or (isinstance(value, str) and not value.strip()) else value


def _category(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return b""
    return value if isinstance(value, bytes) else str(value).strip().encode("utf-8")


# Inputs that take one value per column: how a cell becomes a request value.
_MATRICES = {"tabular": _number, "categorical": _category}


def request_error_reason(error):
    """The useful line of a TensorFlow error raised by a serving signature."""
    message = getattr(error, "message", None) or str(error)
    for line in message.splitlines():
        line = line.strip()
        if line.startswith("assertion failed:"):
            return line[len("assertion failed:") :].strip().replace("] [", " ").strip("[]")
    skip = ("Graph execution error", "Detected at node", "<stack traces", "[[{{node")
    for line in message.splitlines():
        line = line.strip()
        if line and not line.startswith(skip):
            return line
    return message.strip()


class Predictor:
    """Runs an exported model (`mmkeras.export.saved_model`) on raw inputs from Python.

    It serves through the SavedModel's `serving_default` signature, so its predictions are
    those a serving system returns; it adds reading files, batching and manifests.

    Args:
        path: the export directory (with `saved_model.pb` and `metadata.json`).

    Example:
    >>> predictor = mmkeras.export.load("exported/")
    >>> predictor.input_names, predictor.labels
    (['image', 'text', 'audio'], ['cat', 'dog'])
    >>> out = predictor.predict({"image": ["cat.jpg"], "text": ["a cat"], "audio": ["cat.wav"]})
    >>> out["label"], out["probabilities"].shape
    (array(['...'], dtype=object), (1, 2))
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self.metadata = read_metadata(self.path)
        inputs = self.metadata["signatures"]["serving_default"]["inputs"]
        if any(entry["modality"] == "text" for entry in inputs.values()):
            # Registers the text ops the SavedModel's graph uses.
            import tensorflow_text  # noqa: F401
        import tensorflow as tf

        self._tf = tf
        self._saved = tf.saved_model.load(self.path)
        self._serve = self._saved.signatures["serving_default"]
        self.heads = [ServingHead.from_description(d) for d in self.metadata["tasks"]]

    @property
    def input_names(self):
        """Names of the raw inputs, in schema order."""
        return list(self.metadata["signatures"]["serving_default"]["inputs"])

    @property
    def output_names(self):
        """Names of the outputs `predict` returns."""
        return [name for head in self.heads for name in head.output_names]

    @property
    def labels(self):
        """Class names: a list for one task, `{task: list}` for several."""
        labels = self.metadata["labels"]
        return next(iter(labels.values())) if len(self.heads) == 1 and labels else labels

    @property
    def allow_missing(self):
        return bool(self.metadata["allow_missing"])

    def modality(self, name):
        return self.metadata["signatures"]["serving_default"]["inputs"][name]["modality"]

    # === Requests ===

    def _column(self, name, values, root):
        modality = self.modality(name)
        if modality in _MATRICES:
            width = self.metadata["signatures"]["serving_default"]["inputs"][name]["shape"][1]
            cell = _MATRICES[modality]
            rows = [[None] * width if v is None else list(v) for v in values]
            rows = [[cell(c) for c in row] for row in rows]
            dtype = np.float32 if modality == "tabular" else object
            return np.asarray(rows, dtype=dtype).reshape(len(rows), width)
        out = []
        for value in values:
            if value is None or (isinstance(value, str) and not value.strip()):
                out.append(b"")
            elif modality in _FILE_MODALITIES and isinstance(value, str | os.PathLike):
                file = os.path.join(root, value) if root else os.fspath(value)
                with open(file, "rb") as f:
                    out.append(f.read())
            elif isinstance(value, bytes):
                out.append(value)
            elif isinstance(value, str):
                out.append(value.encode("utf-8"))
            else:
                raise TypeError(
                    f"predict: input {name!r} takes bytes or str (a path for files), received "
                    f"{type(value).__name__}."
                )
        return np.array(out, dtype=object)

    def _request(self, inputs, root=None):
        if not isinstance(inputs, dict):
            raise TypeError(f"predict: `inputs` must be a dict by input name, got {type(inputs)}.")
        unknown = sorted(set(inputs) - set(self.input_names))
        if unknown:
            raise ValueError(
                f"predict: unknown inputs {unknown}; this model takes {self.input_names}."
            )
        sizes = {name: len(values) for name, values in inputs.items()}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"predict: inputs have different numbers of entries: {sizes}.")
        n = next(iter(sizes.values()), 0)
        missing = [name for name in self.input_names if name not in inputs]
        if missing and not self.allow_missing:
            raise ValueError(
                f"predict: inputs {missing} are missing; this model needs all of "
                f"{self.input_names}."
            )
        columns = {}
        for name in self.input_names:
            values = inputs.get(name, [None] * n)
            columns[name] = self._column(name, list(values), root)
        return columns, n

    def _run(self, columns, start, stop):
        tf = self._tf
        batch = {name: tf.constant(values[start:stop]) for name, values in columns.items()}
        outputs = self._serve(**batch)
        return {name: value.numpy() for name, value in outputs.items()}

    @staticmethod
    def _finish(parts, names):
        out = {}
        for name in names:
            values = np.concatenate([p[name] for p in parts], axis=0)
            if values.dtype == object:
                values = np.array([v.decode("utf-8") for v in values], dtype=object)
            out[name] = values
        return out

    def predict(self, inputs, batch_size=32, root=None):
        """Predicts a batch of raw inputs.

        Args:
            inputs: dict `{input name: list}`, one entry per example. Image and audio entries are
                file bytes or file paths (str / `os.PathLike`), texts are str, tabular entries
                lists of floats (NaN or None: a missing value), categorical entries lists of
                str (one per column; None or "": missing). `None` or `""` marks an input absent (models exported with
                `allow_missing=True`); an input left out of the dict is absent for every example.
            batch_size: int, examples per call of the SavedModel.
            root: folder that relative file paths start from (default: working directory).

        Returns:
            dict `{output name: numpy array}` (labels as str), as the serving signature names
            them (`probabilities`, `label`, ...).

        Raises:
            tensorflow.errors.InvalidArgumentError: a request the model cannot serve (its
                message says which input and why).
        """
        columns, n = self._request(inputs, root)
        if n == 0:
            raise ValueError("predict: no examples given.")
        parts = [self._run(columns, i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
        return self._finish(parts, self.output_names)

    def predict_manifest(self, manifest, root=None, batch_size=32):
        """Predicts every row of a manifest (CSV / JSONL path, list of dicts, DataFrame).

        Columns are those of the training schema (see `metadata["preprocessing"]["schema"]`);
        file paths are relative to `root` (default: the manifest's folder). Rows that cannot be
        read or served are reported, not fatal.

        Returns:
            dict with `"rows"` (indices of the predicted rows), `"outputs"` (`{output name:
            numpy array}`, one entry per predicted row) and `"problems"` (list of
            `(row, reason)`), `"num_rows"` (rows in the manifest).
        """
        from mmkeras.data import read_manifest

        tf = self._tf
        records, _, base_dir = read_manifest(manifest)
        root = base_dir if root is None else os.fspath(root)
        inputs_meta = self.metadata["signatures"]["serving_default"]["inputs"]
        good, problems, columns = [], [], {name: [] for name in self.input_names}
        for i, record in enumerate(records):
            row = {}
            try:
                for name, entry in inputs_meta.items():
                    column = entry["column"]
                    if isinstance(column, list):
                        cells = [record.get(c) for c in column]
                        empty = all(c is None or str(c).strip() == "" for c in cells)
                        if entry["modality"] == "tabular" and not empty:
                            cells = [float(_number(c)) for c in cells]
                        row[name] = [None if empty else cells]
                    else:
                        cell = record.get(column)
                        row[name] = [None if cell is None else str(cell)]
                    row[name] = self._column(name, row[name], root)
            except (OSError, ValueError, TypeError) as e:
                problems.append((i, f"{name}: {e}"))
                continue
            good.append(i)
            for name in self.input_names:
                columns[name].append(row[name])
        parts, rows = [], []
        columns = {
            n: (np.concatenate(v) if v else np.zeros((0,), object)) for n, v in columns.items()
        }
        for start in range(0, len(good), batch_size):
            stop = min(start + batch_size, len(good))
            try:
                parts.append(self._run(columns, start, stop))
                rows.extend(good[start:stop])
            except tf.errors.InvalidArgumentError:
                # Serve the batch one row at a time to find the rows that cannot be served.
                for j in range(start, stop):
                    try:
                        parts.append(self._run(columns, j, j + 1))
                        rows.append(good[j])
                    except tf.errors.InvalidArgumentError as e:
                        problems.append((good[j], request_error_reason(e)))
        outputs = self._finish(parts, self.output_names) if parts else {}
        return {
            "rows": rows,
            "outputs": outputs,
            "problems": sorted(problems),
            "num_rows": len(records),
        }

    def __repr__(self):
        return f"Predictor({self.path!r}, inputs={self.input_names}, outputs={self.output_names})"


def load(path):
    """Loads an export directory written by `mmkeras.export.saved_model` as a `Predictor`."""
    if not os.path.isfile(os.path.join(os.fspath(path), "saved_model.pb")):
        raise FileNotFoundError(f"{path} holds no SavedModel (no saved_model.pb).")
    return Predictor(path)
