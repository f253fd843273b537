"""`Pipeline`: manifests to validated, batched model inputs with `tf.data`."""

import functools
import json
import math
import os
import shutil
import sys

import numpy as np
import tensorflow as tf

from mmkeras import compat
from mmkeras.data import file_checks
from mmkeras.data.audio_ops import decode_audio, decode_audio_batch
from mmkeras.data.audio_spec import AudioSpec
from mmkeras.data.data_validation_error import DataValidationError
from mmkeras.data.image_ops import decode_image, decode_image_batch
from mmkeras.data.image_spec import ImageSpec
from mmkeras.data.label_spec import LabelSpec
from mmkeras.data.manifest import check_delimiter, is_empty, read_manifest
from mmkeras.data.skip_report import SkipReport
from mmkeras.data.tabular_spec import TabularSpec
from mmkeras.data.text_spec import TextSpec
from mmkeras.data.validation_report import Problem, ValidationReport
from mmkeras.data.word_tokenizer import WordTokenizer

_SPEC_CLASSES = {
    cls.__name__: cls for cls in (ImageSpec, TextSpec, AudioSpec, TabularSpec, LabelSpec)
}
_FILE_MODALITIES = ("image", "audio")
_ERRORS = ("raise", "skip")
_CONFIG_FILE = "pipeline.json"


def _label_key(value):
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _sorted_classes(keys):
    keys = list(keys)
    try:
        return [str(k) for k in sorted(keys, key=int)]
    except ValueError:
        return sorted(keys)


def _utf8_ok(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Pipeline:
    """Turns a manifest into batches of model inputs: validation, decoding, augmentation.

    The schema maps names to manifest columns. Its keys are the model's input names (the branch
    names) and target names; the spec attached to a name gives its modality. `image=`, `text=`,
    `audio=`, `tabular=` and `label=` attach a spec to the schema key of that name; `specs=`
    (and `targets=`, for `LabelSpec`s) attach specs to any names, so several inputs may share a
    modality. A schema key `"label"` without a spec is a classification target.

    Files are resolved relative to `root` (default: the manifest's folder; the working
    directory for a list of dicts or a DataFrame). With `confine_paths=True` a file whose real
    path (symlinks followed) leaves that root is a bad row (`path_outside_root`). Deterministic
    preprocessing (decode, resize, tokenize, crop) is TensorFlow ops only and is the same function
    as `preprocess`, which an exported model runs on raw bytes; OpenCV augmentation runs on
    training batches only.

    Batches are `(inputs, targets)`: `inputs` a dict keyed by input name (plus `"present"`,
    float32 `(B, M)`, when `allow_missing=True`), `targets` a tensor for one target or a dict
    keyed by target name for several (see docs/conventions.md).

    Args:
        schema: dict `{name: column}`; a tabular input maps to a list of columns.
        image, text, audio, tabular: spec for the schema key of that name.
        label: `LabelSpec` for the schema key `"label"`.
        specs: dict `{name: spec}` for any schema keys.
        targets: dict `{name: LabelSpec}` for several targets (multi-task).
        root: folder that relative file paths in the manifest start from.
        allow_missing: allow rows with some inputs empty (reported in `present`).
        delimiter: one-character CSV delimiter; None (default) sniffs it from the header line
            among `,`, `;`, tab and `|` (a `.tsv` file: tab).
        confine_paths: bool, default False. True: every file a row names must resolve (after
            `..`, absolute paths and symlinks) to a real path under the root (`root`, else the
            manifest's folder, else the working directory); a row that escapes is a bad row
            with reason `path_outside_root`. Turn it on for paths that come from requests.

    Example:
    >>> pipe = Pipeline(
    ...     schema={"image": "image_path", "text": "caption", "label": "label"},
    ...     image=ImageSpec(size=(128, 128), augment=OpenCVAugment(rotation=30, flip="horizontal")),
    ...     text=TextSpec(tokenizer="word", max_length=64, vocab_size=20000), root="data/")
    >>> pipe.adapt("train.csv")
    >>> train_ds = pipe.dataset("train.csv", training=True, batch_size=32, seed=0)
    """

    def __init__(
        self,
        schema,
        image=None,
        text=None,
        audio=None,
        tabular=None,
        label=None,
        specs=None,
        targets=None,
        root=None,
        allow_missing=False,
        delimiter=None,
        confine_paths=False,
    ):
        if not isinstance(schema, dict) or not schema:
            raise ValueError(f"Pipeline: `schema` must be a non-empty dict, received {schema!r}.")
        for name, column in schema.items():
            ok = isinstance(column, str) or (
                isinstance(column, list | tuple)
                and column
                and all(isinstance(c, str) for c in column)
            )
            if not isinstance(name, str) or not ok:
                raise ValueError(
                    f"Pipeline: schema entry {name!r}: {column!r} must map a str name to a column "
                    "name (or, for a tabular input, a list of column names)."
                )
        if not isinstance(allow_missing, bool):
            raise ValueError(
                f"Pipeline: `allow_missing` must be a bool, received {allow_missing!r}."
            )
        if not isinstance(confine_paths, bool):
            raise ValueError(
                f"Pipeline: `confine_paths` must be a bool, received {confine_paths!r}."
            )
        check_delimiter(delimiter, "Pipeline")
        attached = {}
        shorthands = {"image": image, "text": text, "audio": audio, "tabular": tabular}
        shorthands["label"] = label
        for key, spec in shorthands.items():
            if spec is None:
                continue
            if key not in schema:
                raise ValueError(
                    f"Pipeline: `{key}=` attaches a spec to the schema key {key!r}, which is not in "
                    f"the schema (keys: {list(schema)}); use `specs={{name: spec}}` for other names."
                )
            attached[key] = spec
        for arg_name, mapping in (("specs", specs), ("targets", targets)):
            if mapping is None:
                continue
            if not isinstance(mapping, dict):
                raise ValueError(f"Pipeline: `{arg_name}` must be a dict, received {mapping!r}.")
            for key, spec in mapping.items():
                if key not in schema:
                    raise ValueError(
                        f"Pipeline: `{arg_name}` names {key!r}, which is not a schema key "
                        f"(keys: {list(schema)})."
                    )
                if key in attached:
                    raise ValueError(f"Pipeline: {key!r} has two specs attached.")
                if arg_name == "targets" and not isinstance(spec, LabelSpec):
                    raise ValueError(
                        f"Pipeline: `targets[{key!r}]` must be a LabelSpec, received {spec!r}."
                    )
                attached[key] = spec
        if "label" in schema and "label" not in attached:
            attached["label"] = LabelSpec()
        for name in schema:
            spec = attached.get(name)
            if spec is None:
                raise ValueError(
                    f"Pipeline: schema key {name!r} has no spec; attach one with image=/text=/"
                    "audio=/tabular=/label= (for that key name) or specs={name: spec}."
                )
            if not isinstance(spec, tuple(_SPEC_CLASSES.values())):
                raise ValueError(
                    f"Pipeline: the spec for {name!r} must be one of {sorted(_SPEC_CLASSES)}, "
                    f"received {type(spec).__name__}."
                )
            is_list = not isinstance(schema[name], str)
            if is_list != isinstance(spec, TabularSpec):
                raise ValueError(
                    f"Pipeline: schema key {name!r} maps to {schema[name]!r}; a list of columns is "
                    "for a TabularSpec input, every other spec takes one column."
                )
        self.schema = {k: (v if isinstance(v, str) else list(v)) for k, v in schema.items()}
        self.specs = {name: attached[name] for name in schema}
        self.input_names = [n for n in schema if not isinstance(self.specs[n], LabelSpec)]
        self.target_names = [n for n in schema if isinstance(self.specs[n], LabelSpec)]
        if not self.input_names:
            raise ValueError("Pipeline: the schema has no input (only targets).")
        if "present" in schema:
            raise ValueError("Pipeline: 'present' is reserved for the presence mask.")
        self.root = None if root is None else os.fspath(root)
        self.allow_missing = allow_missing
        self.delimiter = delimiter
        self.confine_paths = confine_paths
        self._tokenizers = {}
        self._classes = {
            n: list(self.specs[n].classes) for n in self.target_names if self.specs[n].classes
        }
        self._regression_dims = {}
        self._tabular_stats = {}
        self._skips = None

    # === Introspection ===

    @property
    def skipped(self):
        """`ValidationReport` of the rows the last `dataset()` dropped (last finished epoch).

        For the report of a given dataset, use `pipe.dataset(..., return_report=True)`.
        """
        return None if self._skips is None else self._skips.report()

    def modality(self, name):
        """The modality of input `name`: "image", "text", "audio", "tabular" (or "target")."""
        return self.specs[name].modality

    @property
    def adapted(self):
        """True when everything `dataset()` needs from `adapt()` is known."""
        for name in self.input_names:
            spec = self.specs[name]
            if isinstance(spec, TextSpec) and spec.tokenizer == "word":
                if name not in self._tokenizers:
                    return False
            if isinstance(spec, TabularSpec) and spec.normalize and name not in self._tabular_stats:
                return False
        for name in self.target_names:
            kind = self.specs[name].kind
            if kind == "regression" and name not in self._regression_dims:
                return False
            if kind != "regression" and name not in self._classes:
                return False
        return True

    def _single_or_dict(self, mapping):
        if len(self.target_names) == 1:
            return mapping[self.target_names[0]]
        return mapping

    @property
    def labels(self):
        """Class names in index order: a list (one target) or `{target: list}` (several)."""
        return self._single_or_dict({n: list(self._classes.get(n, [])) for n in self.target_names})

    @property
    def num_classes(self):
        """Number of classes (or regression outputs): an int, or `{target: int}` for several."""
        return self._single_or_dict({n: self.target_size(n) for n in self.target_names})

    def target_size(self, name):
        """Classes (classification, multi-label) or values (regression) of target `name`."""
        spec = self.specs[name]
        if spec.kind == "regression":
            return self._regression_dims.get(name)
        return len(self._classes[name]) if name in self._classes else None

    def tokenizer(self, name):
        """The tokenizer of text input `name` (a `WordTokenizer` or WordPiece tokenizer)."""
        spec = self.specs[name]
        if name not in self._tokenizers and spec.tokenizer == "wordpiece":
            from mmkeras.data.wordpiece import WordPieceTokenizer

            self._tokenizers[name] = WordPieceTokenizer(
                spec.vocab, lower_case=spec.lower_case, max_length=spec.max_length
            )
        if name not in self._tokenizers:
            raise ValueError(
                f"Text input {name!r} has no vocabulary yet: call `pipe.adapt(train_manifest)`."
            )
        return self._tokenizers[name]

    def vocab_size(self, name):
        """Number of token ids of text input `name` (for sizing the text branch)."""
        return self.tokenizer(name).vocab_size

    def tabular_stats(self, name):
        """`(mean, std)` float32 arrays of tabular input `name`, computed by `adapt`."""
        return self._tabular_stats[name]

    def num_features(self, name):
        return len(self.schema[name])

    def _input_shape(self, name):
        spec = self.specs[name]
        if isinstance(spec, TabularSpec):
            return (self.num_features(name),)
        return spec.shape

    def input_specs(self):
        """Describes the model inputs the pipeline yields.

        Returns:
            dict `{name: {"modality", "shape", "dtype"}}` in schema order (shapes without the
            batch dimension), plus `"present"` when `allow_missing=True`.
        """
        out = {}
        for name in self.input_names:
            modality = self.modality(name)
            dtype = "int32" if modality == "text" else "float32"
            out[name] = {"modality": modality, "shape": self._input_shape(name), "dtype": dtype}
        if self.allow_missing:
            out["present"] = {
                "modality": "mask",
                "shape": (len(self.input_names),),
                "dtype": "float32",
            }
        return out

    def raw_input_specs(self):
        """`{name: tf.TensorSpec}` of the raw batched inputs `preprocess` takes.

        Image and audio inputs take the encoded file bytes (tf.string `(B,)`), text inputs the
        text (tf.string `(B,)`), tabular inputs float32 `(B, F)`.
        """
        out = {}
        for name in self.input_names:
            if isinstance(self.specs[name], TabularSpec):
                out[name] = tf.TensorSpec((None, self.num_features(name)), tf.float32, name=name)
            else:
                out[name] = tf.TensorSpec((None,), tf.string, name=name)
        return out

    def trackables(self):
        """TensorFlow resources (vocabulary tables) that `preprocess` uses.

        A SavedModel whose functions call `preprocess` must track them (for example
        `keras.export.ExportArchive.track(...)` or attributes of a `tf.Module`).
        """
        out = []
        for name in self.input_names:
            if isinstance(self.specs[name], TextSpec):
                tok = self.tokenizer(name)
                if hasattr(tok, "trackables"):
                    out.extend(tok.trackables())
                elif compat.is_trackable(tok):
                    out.append(tok)
        return out

    # === Reading and validating rows ===

    def _resolve(self, value, base_dir):
        path = os.path.expanduser(str(value).strip())
        if os.path.isabs(path):
            return path
        return os.path.normpath(os.path.join(self.root or base_dir, path))

    def _confine(self, path, base_dir):
        """`(real_path, None)` when `path` stays under the root, else `(None, problem)`."""
        root = os.path.realpath(self.root or base_dir)
        real = os.path.realpath(path)
        try:
            inside = os.path.commonpath([root, real]) == root
        except ValueError:  # Windows: another drive
            inside = False
        if inside:
            return real, None
        return None, (
            "path_outside_root",
            f"the path resolves to {real!r}, outside the root {root!r}",
            path,
        )

    def _check_columns(self, records, name):
        columns = set()
        for record in records:
            columns.update(record)
        for key, column in self.schema.items():
            for col in [column] if isinstance(column, str) else column:
                if records and col not in columns:
                    hint = ""
                    if len(columns) == 1:
                        hint = (
                            " (one column: if the file uses another delimiter, pass it as "
                            "Pipeline(delimiter=...))"
                        )
                    raise ValueError(
                        f"{name}: column {col!r} (schema key {key!r}) is not in the manifest; "
                        f"its columns are {sorted(columns)}{hint}."
                    )

    def _check_input(self, name, value, base_dir, deep):
        """Returns `(raw, size, problem)`; raw is the path / text / feature list."""
        spec = self.specs[name]
        if isinstance(spec, TabularSpec):
            if all(is_empty(v) for v in value):
                if self.allow_missing:
                    return [math.nan] * len(value), 0, None
                return None, 0, ("value_missing", "the tabular values are empty", None)
            features = []
            for column, v in zip(self.schema[name], value, strict=True):
                if is_empty(v):
                    return None, 0, ("value_missing", f"column {column!r} is empty", None)
                try:
                    f = float(v)
                except (TypeError, ValueError):
                    return None, 0, ("tabular_not_numeric", f"{column}={v!r}", None)
                if not math.isfinite(f):
                    return None, 0, ("tabular_not_finite", f"{column}={v!r}", None)
                features.append(f)
            return features, 0, None
        if is_empty(value):
            if self.allow_missing:
                return "", 0, None
            reason = "text_empty" if isinstance(spec, TextSpec) else "value_missing"
            return None, 0, (reason, f"column {self.schema[name]!r} is empty", None)
        if isinstance(spec, TextSpec) and spec.source == "column":
            text = str(value)
            if not _utf8_ok(text):
                detail = "the text is not valid UTF-8 (is the manifest saved as UTF-8?)"
                return None, 0, ("text_not_utf8", detail, None)
            if not text.strip():
                return None, 0, ("text_empty", "the text is only whitespace", None)
            return text, 0, None
        path = self._resolve(value, base_dir)
        if self.confine_paths:
            # Checked before existence, so nothing is learnt about files outside the root.
            path, problem = self._confine(path, base_dir)
            if problem:
                return None, 0, problem
        if not os.path.isfile(path):
            reason = "the path is a folder" if os.path.isdir(path) else "the file does not exist"
            return None, 0, ("file_missing", reason, path)
        try:
            if isinstance(spec, ImageSpec):
                header = file_checks.image_header(path)
                pixels = header["width"] * header["height"]
                if pixels > spec.max_pixels:
                    return (
                        None,
                        0,
                        (
                            "image_too_large",
                            f"{header['width']}x{header['height']} = {pixels} pixels > max_pixels "
                            f"{spec.max_pixels}",
                            path,
                        ),
                    )
                if deep:
                    with open(path, "rb") as f:
                        data = f.read()
                    try:
                        tf.io.decode_image(data, channels=3, expand_animations=False)
                    except tf.errors.OpError as e:
                        return None, 0, ("image_corrupt", e.message.splitlines()[0], path)
                return path, header["size"], None
            if isinstance(spec, AudioSpec):
                header = file_checks.wav_header(path)
                if header["frames"] == 0:
                    return None, 0, ("audio_corrupt", "the WAV file has no samples", path)
                if spec.max_duration is not None and header["duration"] > spec.max_duration:
                    return (
                        None,
                        0,
                        (
                            "audio_too_long",
                            f"{header['duration']:.2f} s > max_duration {spec.max_duration} s",
                            path,
                        ),
                    )
                return path, header["size"], None
            with open(path, "rb") as f:
                data = f.read()
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                return None, 0, ("text_not_utf8", "the text file is not valid UTF-8", path)
            if not text.strip():
                return None, 0, ("text_empty", "the text file is empty", path)
            return path, len(data), None
        except file_checks.FileProblem as e:
            return None, 0, (e.reason, e.detail, path)
        except OSError as e:
            return None, 0, ("file_unreadable", str(e), path)

    def _check_target(self, name, value, check_labels):
        spec = self.specs[name]
        if spec.kind == "multilabel":
            keys = (
                []
                if is_empty(value)
                else [_label_key(k) for k in str(value).split(spec.separator) if k.strip()]
            )
            if check_labels and name in self._classes:
                unknown = [k for k in keys if k not in self._classes[name]]
                if unknown:
                    return None, ("label_unknown", f"{name}: labels {unknown} not in the index")
            return keys, None
        if is_empty(value):
            return None, (
                "value_missing",
                f"target {name!r} (column {self.schema[name]!r}) is empty",
            )
        if spec.kind == "classification":
            key = _label_key(value)
            if check_labels and name in self._classes and key not in self._classes[name]:
                return None, (
                    "label_unknown",
                    f"{name}: label {key!r} is not one of {len(self._classes[name])} classes",
                )
            return key, None
        parts = value if isinstance(value, list | tuple) else str(value).split(spec.separator)
        try:
            numbers = (
                [float(p) for p in parts]
                if isinstance(value, list | tuple | str)
                else [float(value)]
            )
        except (TypeError, ValueError):
            return None, ("label_invalid", f"{name}: {value!r} is not a number")
        if not all(math.isfinite(x) for x in numbers):
            return None, ("label_invalid", f"{name}: {value!r} is not finite")
        dims = self._regression_dims.get(name)
        if check_labels and dims is not None and len(numbers) != dims:
            return None, ("label_invalid", f"{name}: {len(numbers)} values, expected {dims}")
        return numbers, None

    def _inspect(self, source, deep=False, check_labels=True):
        records, name, base_dir = read_manifest(source, delimiter=self.delimiter)
        if not records:
            raise ValueError(f"The manifest ({name}) has no rows.")
        self._check_columns(records, name)
        rows, problems = [], []
        for i, record in enumerate(records):
            parsed, row_problems = {"row": i}, []
            absent = 0
            for key in self.input_names:
                column = self.schema[key]
                value = (
                    [record.get(c) for c in column]
                    if isinstance(column, list)
                    else record.get(column)
                )
                raw, size, problem = self._check_input(key, value, base_dir, deep)
                if problem:
                    row_problems.append(Problem(i, key, problem[2], problem[0], problem[1]))
                    continue
                parsed[key] = (raw, size)
                absent += raw == "" or (isinstance(raw, list) and math.isnan(raw[0]))
            if not row_problems and absent == len(self.input_names):
                row_problems.append(
                    Problem(i, "*", None, "value_missing", "every input of the row is empty")
                )
            for key in self.target_names:
                value, problem = self._check_target(key, record.get(self.schema[key]), check_labels)
                if problem:
                    row_problems.append(Problem(i, key, None, problem[0], problem[1]))
                parsed[key] = value
            if row_problems:
                problems.extend(row_problems)
            else:
                rows.append(parsed)
        return rows, ValidationReport(name, len(records), problems)

    def validate(self, manifest, deep=False):
        """Finds every row of `manifest` that cannot be used, with its row number and reason.

        Files are checked from their headers (existence, format, truncation, pixel count, WAV
        format and duration), texts for emptiness and UTF-8, tabular values for NaN/inf, labels
        against the label index (once `adapt` built it or `LabelSpec(classes=...)` fixed it).

        Args:
            manifest: CSV / JSONL path, list of dicts or DataFrame.
            deep: also decode every image with TensorFlow (slower; finds damage inside the
                compressed data that headers cannot show).

        Returns:
            A `ValidationReport` (print it, or read `.counts`, `.problems`, `.to_dict()`).
        """
        return self._inspect(manifest, deep=deep)[1]

    # === Adapt ===

    def adapt(self, manifest):
        """Learns from the (training) manifest what `dataset()` needs.

        Builds the word vocabularies, the label index of each classification / multi-label target
        (unless `LabelSpec(classes=...)` fixed it), the size of regression targets and the
        statistics of tabular inputs. Unusable rows are left out (see the returned report).

        Args:
            manifest: CSV / JSONL path, list of dicts or DataFrame.

        Returns:
            The `ValidationReport` of the manifest.
        """
        rows, report = self._inspect(manifest, check_labels=False)
        if not rows:
            raise DataValidationError(f"adapt: no usable rows.\n{report}", report)
        for name in self.input_names:
            spec = self.specs[name]
            if isinstance(spec, TextSpec) and spec.tokenizer == "word":
                texts = [self._text_of(spec, row[name][0]) for row in rows]
                tok = WordTokenizer(
                    max_length=spec.max_length,
                    split=spec.split,
                    lower_case=True if spec.lower_case is None else spec.lower_case,
                    start_end=spec.start_end,
                )
                tok.adapt(texts, spec.vocab_size, spec.min_count)
                self._tokenizers[name] = tok
            if isinstance(spec, TabularSpec):
                values = np.array(
                    [row[name][0] for row in rows if not math.isnan(row[name][0][0])],
                    np.float64,
                )
                std = values.std(axis=0)
                self._tabular_stats[name] = (
                    values.mean(axis=0).astype(np.float32),
                    np.where(std > 0, std, 1.0).astype(np.float32),
                )
        for name in self.target_names:
            spec = self.specs[name]
            if spec.kind == "regression":
                dims = {len(row[name]) for row in rows}
                if len(dims) != 1:
                    raise ValueError(
                        f"adapt: regression target {name!r} has rows with {sorted(dims)} values; "
                        "every row must have the same number."
                    )
                self._regression_dims[name] = dims.pop()
            elif not spec.classes:
                keys = set()
                for row in rows:
                    keys.update(row[name] if spec.kind == "multilabel" else [row[name]])
                self._classes[name] = _sorted_classes(keys)
        return report

    @staticmethod
    def _text_of(spec, raw):
        if spec.source == "file" and raw:
            with open(raw, encoding="utf-8") as f:
                return f.read()
        return raw

    def class_weights(self, manifest, target=None):
        """Balanced class weights `{class_index: weight}` for `model.fit(class_weight=...)`.

        `weight = num_rows / (num_classes * rows_of_class)`; a class absent from the manifest
        gets the largest weight seen (it has no rows to weigh, and a weight of 0 would hide it).

        Args:
            manifest: the training manifest.
            target: target name (needed only with several targets).
        """
        target = target or (self.target_names[0] if len(self.target_names) == 1 else None)
        if target is None or self.specs[target].kind != "classification":
            raise ValueError(
                f"class_weights: `target` must name a classification target, received {target!r} "
                f"(targets: {self.target_names})."
            )
        self._require_adapted()
        rows, _ = self._inspect(manifest)
        classes = self._classes[target]
        counts = np.zeros(len(classes))
        for row in rows:
            counts[classes.index(row[target])] += 1
        weights = np.where(counts > 0, counts.sum() / (len(classes) * np.maximum(counts, 1)), 0)
        weights[counts == 0] = weights.max() if weights.max() > 0 else 1.0
        return {i: float(w) for i, w in enumerate(weights)}

    def _require_adapted(self):
        if not self.adapted:
            raise ValueError(
                "The pipeline has not been adapted: call `pipe.adapt(train_manifest)` first "
                "(it builds the vocabulary, label index and statistics), or load a saved pipeline."
            )

    # === Deterministic preprocessing (shared with export) ===

    def _transform(self, raw, training=False, seeds=None):
        out = {}
        present = []
        for name in self.input_names:
            spec = self.specs[name]
            x = raw[name]
            if isinstance(spec, TabularSpec):
                x = tf.cast(x, tf.float32)
                is_present = tf.logical_not(tf.reduce_all(tf.math.is_nan(x), axis=1))
                x = tf.where(tf.math.is_nan(x), 0.0, x)
                if spec.normalize:
                    mean, std = self._tabular_stats[name]
                    x = tf.where(is_present[:, None], (x - mean) / std, 0.0)
                out[name] = x
                present.append(is_present)
                continue
            # Training decodes images and audio per element before batching (see dataset()).
            predecoded = x.dtype != tf.string
            present.append(raw[f"__present/{name}"] if predecoded else tf.strings.length(x) > 0)
            if isinstance(spec, ImageSpec):
                image = x if predecoded else decode_image_batch(x, spec)
                if training and spec.augment is not None:
                    image = tf.numpy_function(
                        spec.augment.augment_batch, [image, seeds], tf.float32, stateful=False
                    )
                    image = tf.ensure_shape(image, (None, *spec.shape))
                out[name] = image
            elif isinstance(spec, AudioSpec):
                wave = x if predecoded else decode_audio_batch(x, spec)
                if training and spec.augment is not None:
                    aug_seeds = self._audio_seeds(seeds, name, offset=32)
                    wave = spec.augment.augment_batch(wave, aug_seeds)
                out[name] = wave
            else:
                out[name] = self.tokenizer(name)(x)
        if self.allow_missing:
            out["present"] = tf.cast(tf.stack(present, axis=1), tf.float32)
        return out

    def _audio_seeds(self, seeds, name, offset=0):
        """Stateless seeds `(..., 2)` from `(seed, epoch, index)` rows, distinct per input."""
        idx = self.input_names.index(name)
        return tf.stack(
            [seeds[..., 0] * 1_000_003 + seeds[..., 1], seeds[..., 2] * 64 + idx + offset], axis=-1
        )

    def _decode_element(self, raw, seeds):
        """Training only: decodes one element's images and audio (random crop) before batching."""
        raw = dict(raw)
        for name in self.input_names:
            spec = self.specs[name]
            if isinstance(spec, ImageSpec | AudioSpec):
                raw[f"__present/{name}"] = tf.strings.length(raw[name]) > 0
            if isinstance(spec, ImageSpec):
                raw[name] = decode_image(raw[name], spec)
            elif isinstance(spec, AudioSpec):
                raw[name] = decode_audio(raw[name], spec, self._audio_seeds(seeds, name))
        return raw

    def preprocess(self, raw):
        """Maps raw batched inputs to model inputs, deterministically (evaluation mode).

        TensorFlow ops only (no Python, no `numpy_function`), so it runs inside `tf.function`
        and an exported SavedModel; the evaluation dataset calls exactly this function on the
        bytes it reads. An empty string for an input marks it absent (`present` 0).

        Args:
            raw: dict `{name: tensor}` as `raw_input_specs()` describes: encoded image bytes and
                WAV bytes tf.string `(B,)`, texts tf.string `(B,)`, tabular float32 `(B, F)`.

        Returns:
            dict of model inputs (plus `"present"` when `allow_missing=True`).
        """
        self._require_adapted()
        missing = [n for n in self.input_names if n not in raw]
        if missing:
            raise ValueError(f"preprocess: raw inputs {missing} are missing (got {list(raw)}).")
        return self._transform(raw, training=False)

    # === Datasets ===

    def _table(self, rows):
        """Column tensors of the usable rows (one entry per row, in manifest order)."""
        table = {}
        for name in self.input_names:
            spec = self.specs[name]
            if isinstance(spec, TabularSpec):
                table[name] = np.array([r[name][0] for r in rows], np.float32)
                continue
            is_file = not (isinstance(spec, TextSpec) and spec.source == "column")
            if is_file:
                # Paths as bytes: a file name that is not UTF-8 still reaches the file.
                table[name] = np.array([os.fsencode(r[name][0]) for r in rows], object)
                table[f"__size_{name}"] = np.array([r[name][1] for r in rows], np.int64)
            else:
                table[name] = np.array([r[name][0] for r in rows], object)
        for name in self.target_names:
            spec = self.specs[name]
            if spec.kind == "classification":
                index = {c: i for i, c in enumerate(self._classes[name])}
                table[f"__y_{name}"] = np.array([index[r[name]] for r in rows], np.int32)
            elif spec.kind == "multilabel":
                index = {c: i for i, c in enumerate(self._classes[name])}
                hot = np.zeros((len(rows), len(index)), np.float32)
                for j, r in enumerate(rows):
                    hot[j, np.array([index[k] for k in r[name]], np.int64)] = 1.0
                table[f"__y_{name}"] = hot
            else:
                table[f"__y_{name}"] = np.array([r[name] for r in rows], np.float32)
        return {k: tf.constant(v) for k, v in table.items()}

    def _read_element(self, table, index):
        """Reads one row's files; `ok` is False when a file's size is not what was validated.

        A read that raises (a file removed or made unreadable after validation) fails the
        element; `dataset()` drops it with `ignore_errors` and names the row afterwards.
        """
        raw = {}
        ok = tf.constant(True)
        for name in self.input_names:
            value = table[name][index]
            if f"__size_{name}" in table:
                expected = table[f"__size_{name}"][index]
                data = tf.cond(
                    tf.strings.length(value) > 0,
                    lambda v=value: tf.io.read_file(v),
                    lambda: tf.constant(""),
                )
                size = tf.cast(tf.strings.length(data), tf.int64)
                same = tf.logical_or(tf.equal(value, ""), tf.equal(size, expected))
                ok = tf.logical_and(ok, same)
                value = data
            raw[name] = value
        targets = {n: table[f"__y_{n}"][index] for n in self.target_names}
        return raw, targets, ok

    def _record_failures(self, skips, files, indices, start_of_epoch, end_of_epoch):
        """Names the rows whose files failed in the graph; opens and closes epochs.

        Args:
            skips: the dataset's `SkipReport` (raises under `errors="raise"`).
            files: per table index, `(row, [(input name, path, validated size), ...])`.
            indices: int64 tensor, table indices of the rows that failed.
            start_of_epoch: bool tensor, the first element of an epoch.
            end_of_epoch: bool tensor, the end marker of an epoch.
        """
        if start_of_epoch:
            skips.start_epoch()
        for index in indices.numpy():
            row, entries = files[index]
            problems = [
                (name, path, found)
                for name, path, size in entries
                if (found := file_checks.recheck(path, size)) is not None
            ]
            if not problems and entries:
                # The read failed but the file looks fine now: it was unreadable for a while.
                name, path, _ = entries[0]
                detail = "the input pipeline could not read a file of the row"
                problems = [(name, path, ("file_unreadable", detail))]
            for name, path, (reason, detail) in problems:
                skips.record(row, name, path, reason, detail)
        if end_of_epoch:
            skips.end_epoch()
        return True

    def _finish(self, ds, training, batch_size, seed, drop_remainder):
        def batch_fn(raw, targets, seeds):
            inputs = self._transform(raw, training=training, seeds=seeds)
            return inputs, self._single_or_dict(targets)

        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        ds = ds.map(batch_fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return ds.prefetch(tf.data.AUTOTUNE)

    def dataset(
        self,
        source,
        training=False,
        batch_size=32,
        shuffle=None,
        seed=0,
        errors="raise",
        drop_remainder=False,
        cache=False,
        verbose=True,
        shard=None,
        return_report=False,
    ):
        """Builds a batched `tf.data.Dataset` of `(inputs, targets)`.

        Rows are validated on the Python side first (cheap header reads), so the graph only sees
        usable rows; a file that is changed, deleted or made unreadable after that is caught in
        the graph as well (`file_changed`, `file_missing`, `file_unreadable`).
        In training, images get the spec's OpenCV augmentation (one `numpy_function` per batch),
        audio a random crop and the spec's `AudioAugment`, all seeded per element from
        `(seed, epoch, index)`: the same seed gives the same batches.

        Args:
            source: manifest (CSV / JSONL path, list of dicts, DataFrame) or a folder written by
                `write_tfrecords`.
            training: augment, random audio crops.
            batch_size: int.
            shuffle: reshuffle every epoch (default: `training`).
            seed: non-negative int for shuffling and augmentation.
            errors: `"raise"` (unusable rows raise `DataValidationError` naming row, file and
                reason; a file failing at run time raises it inside the reading op, so iteration
                stops with a `tf.errors.OpError` carrying that message) or `"skip"` (they are
                dropped and counted in the `SkipReport`).
            drop_remainder: drop the last incomplete batch.
            cache: TFRecord folders only: cache parsed samples in memory after the first epoch.
            verbose: print the rows validation dropped once, when the dataset is built, and a
                row that fails at run time once, at the end of the epoch that found it; never
                the same line every epoch.
            shard: optional `(num_shards, index)`, TFRecord folders only: read only the files
                of input pipeline `index` (multi-worker training shards by file).
            return_report: also return the dataset's `SkipReport`.

        Returns:
            A `tf.data.Dataset`, or `(dataset, SkipReport)` with `return_report=True`. The
            report counts the rows dropped, by validation and in each epoch, and is the one
            place a training loop reads them from (`pipe.skipped` holds the report of the last
            dataset built, for convenience).
        """
        if errors not in _ERRORS:
            raise ValueError(f"dataset: `errors` must be one of {_ERRORS}, received {errors!r}.")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"dataset: `batch_size` must be a positive int, received {batch_size!r}."
            )
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"dataset: `seed` must be a non-negative int, received {seed!r}.")
        shuffle = training if shuffle is None else shuffle
        is_folder = isinstance(source, str | os.PathLike) and os.path.isdir(source)
        if shard is not None:
            ok = (
                isinstance(shard, tuple | list)
                and len(shard) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in shard)
                and 0 <= shard[1] < shard[0]
            )
            if not ok:
                raise ValueError(
                    "dataset: `shard` must be (num_shards, index) with 0 <= index < num_shards, "
                    f"received {shard!r}."
                )
            if not is_folder:
                raise ValueError(
                    "dataset: `shard` applies to TFRecord folders (sharded by file); for a "
                    f"manifest, received {source!r}, write the rows with write_tfrecords first."
                )
        self._require_adapted()
        self.trackables()  # creates lookup tables eagerly, outside the dataset functions
        if is_folder:
            from mmkeras.data.tfrecords import read_tfrecord_meta, tfrecord_dataset

            ds = tfrecord_dataset(
                self,
                source,
                training,
                batch_size,
                shuffle,
                seed,
                drop_remainder,
                cache,
                shard=None if shard is None else tuple(shard),
            )
            # Rows were validated when the records were written; none is dropped here.
            meta = read_tfrecord_meta(source)
            skips = SkipReport(
                ValidationReport(os.fspath(source), meta["num_samples"]), errors, verbose
            )
            self._skips = skips
            return (ds, skips) if return_report else ds
        rows, report = self._inspect(source)
        if not report.ok and errors == "raise":
            first = report.problems[0]
            where = f" file {first.path!r}" if first.path else ""
            raise DataValidationError(
                f"{report.source}: {report.num_bad_rows} of {report.num_rows} rows cannot be used. "
                f"First: row {first.row} [{first.input}]{where}: {first.reason} - {first.detail}. "
                "Pass errors='skip' to drop them, or see pipe.validate(...) for all of them.",
                report,
            )
        if not rows:
            raise DataValidationError(f"{report.source}: no usable rows.\n{report}", report)
        skips = SkipReport(report, errors, verbose)
        self._skips = skips
        if verbose and not report.ok:
            print(f"[mmkeras.data] skipped: {report.summary()}", file=sys.stderr, flush=True)
        table = self._table(rows)
        n = len(rows)
        file_inputs = [name for name in self.input_names if f"__size_{name}" in table]
        files = [
            (r["row"], [(name, r[name][0], r[name][1]) for name in file_inputs if r[name][0]])
            for r in rows
        ]
        record_failures = functools.partial(self._record_failures, skips, files)

        epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False)
        order_var = tf.Variable(tf.zeros([n], tf.int64), trainable=False)

        def epoch_order(_):
            # One element per epoch holding its whole order, then unbatched: a new iterator
            # (a new epoch) bumps the counter and reshuffles without rebuilding the pipeline.
            epoch = epoch_var.assign_add(1) - 1
            order = tf.range(n, dtype=tf.int64)
            if shuffle:
                order = tf.random.experimental.stateless_shuffle(
                    order, seed=tf.stack([tf.constant(seed, tf.int64), epoch])
                )
            # Kept so that `check` can name the rows at the positions a failed read left out.
            with tf.control_dependencies([order_var.assign(order)]):
                order = tf.identity(order)
            return order, tf.range(n, dtype=tf.int64), tf.fill([n], epoch)

        def read(index, position, epoch):
            raw, targets, ok = self._read_element(table, index)
            seeds = tf.stack([tf.constant(seed, tf.int64), epoch, position])
            return raw, targets, seeds, ok

        def check(expected, element):
            # Positions arrive in order: a gap is rows whose read raised (`ignore_errors` left
            # them out), an element that is not ok a row whose file changed; both are recorded
            # (or raise). The end marker, at position n, closes the epoch. Python runs only for
            # these and for an epoch's first element.
            raw, targets, seeds, ok = element
            position = seeds[2]
            stop = tf.where(ok, position, tf.minimum(position + 1, n))
            start_of_epoch = tf.equal(expected, 0)
            end_of_epoch = position >= n
            done = tf.cond(
                tf.reduce_any(tf.stack([stop > expected, start_of_epoch, end_of_epoch])),
                lambda: tf.py_function(
                    record_failures,
                    [order_var[expected:stop], start_of_epoch, end_of_epoch],
                    tf.bool,
                ),
                lambda: tf.constant(True),
            )
            return position + 1, (raw, targets, seeds, tf.logical_and(ok, done))

        def decode(raw, targets, seeds):
            return self._decode_element(raw, seeds), targets, seeds

        ds = tf.data.Dataset.from_tensors(0).map(epoch_order).unbatch()
        ds = ds.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        raw_zeros, target_zeros = tf.nest.map_structure(
            lambda s: tf.fill(s.shape, "") if s.dtype == tf.string else tf.zeros(s.shape, s.dtype),
            ds.element_spec[:2],
        )
        end = tf.data.Dataset.from_tensors(
            (raw_zeros, target_zeros, tf.constant([0, 0, n], tf.int64), tf.constant(False))
        )
        ds = ds.ignore_errors().concatenate(end)
        ds = ds.scan(tf.constant(0, tf.int64), check)
        ds = ds.filter(lambda raw, targets, seeds, ok: ok)
        ds = ds.map(lambda raw, targets, seeds, ok: (raw, targets, seeds))
        if training:
            ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        ds = self._finish(ds, training, batch_size, seed, drop_remainder)
        if errors == "raise":
            batches = n // batch_size if drop_remainder else -(-n // batch_size)
            ds = ds.apply(tf.data.experimental.assert_cardinality(batches))
        # Keep the epoch counter and order alive as long as the dataset.
        ds._mmkeras_epoch = epoch_var
        ds._mmkeras_order = order_var
        return (ds, skips) if return_report else ds

    def write_tfrecords(self, manifest, out_dir, shards=8, errors="raise", image_dtype="uint8"):
        """Writes decoded, validated samples as TFRecord shards; see `write_tfrecords`."""
        from mmkeras.data.tfrecords import write_tfrecords

        return write_tfrecords(
            manifest,
            out_dir,
            shards=shards,
            pipeline=self,
            errors=errors,
            image_dtype=image_dtype,
        )

    # === Saving ===

    def get_config(self):
        return {
            "schema": self.schema,
            "specs": {
                name: {"class_name": type(spec).__name__, "config": spec.get_config()}
                for name, spec in self.specs.items()
            },
            "root": self.root,
            "allow_missing": self.allow_missing,
            "delimiter": self.delimiter,
            "confine_paths": self.confine_paths,
        }

    def save(self, path):
        """Saves specs, vocabularies, label index and statistics to the folder `path`.

        WordPiece vocabularies are copied in, so the folder is self-contained. Files are written
        under temporary names and renamed, so an interrupted save leaves no half-written file.
        A `root` is also recorded as an absolute path (`root_abspath`), so `load` from another
        working directory finds the same data folder.
        """
        os.makedirs(path, exist_ok=True)
        config = self.get_config()
        config["root_abspath"] = None if self.root is None else os.path.abspath(self.root)
        state = {
            "classes": self._classes,
            "regression_dims": self._regression_dims,
            "tabular_stats": {
                n: [m.tolist(), s.tolist()] for n, (m, s) in self._tabular_stats.items()
            },
            "vocabularies": {},
        }
        for name in self.input_names:
            spec = self.specs[name]
            if not isinstance(spec, TextSpec):
                continue
            if spec.tokenizer == "word" and name in self._tokenizers:
                filename = f"vocab_{name}.txt"
                self._tokenizers[name].save_vocabulary(os.path.join(path, filename + ".tmp"))
                os.replace(os.path.join(path, filename + ".tmp"), os.path.join(path, filename))
                state["vocabularies"][name] = filename
            elif spec.tokenizer == "wordpiece":
                folder = f"wordpiece_{name}"
                os.makedirs(os.path.join(path, folder), exist_ok=True)
                source_dir = os.path.dirname(os.path.abspath(spec.vocab))
                for filename in ("vocab.txt", "tokenizer_config.json"):
                    src = (
                        spec.vocab
                        if filename == "vocab.txt"
                        else os.path.join(source_dir, filename)
                    )
                    if os.path.isfile(src):
                        dst = os.path.join(path, folder, filename)
                        shutil.copyfile(src, dst + ".tmp")
                        os.replace(dst + ".tmp", dst)
                config["specs"][name]["config"]["vocab"] = os.path.join(folder, "vocab.txt")
        config["state"] = state
        target = os.path.join(path, _CONFIG_FILE)
        with open(target + ".tmp", "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2)
        os.replace(target + ".tmp", target)

    @classmethod
    def load(cls, path):
        """Loads a pipeline saved by `save` (specs, vocabularies, labels, statistics).

        The data root is the absolute path recorded at save time when that folder exists;
        otherwise (a save made before it was recorded, or a folder that moved) the root is
        the one saved, as given.
        """
        with open(os.path.join(path, _CONFIG_FILE), encoding="utf-8") as f:
            config = json.load(f)
        state = config.pop("state", {})
        root = config.get("root")
        if config.get("root_abspath") and os.path.isdir(config["root_abspath"]):
            root = config["root_abspath"]
        specs = {}
        for name, entry in config["specs"].items():
            spec_config = dict(entry["config"])
            if entry["class_name"] == "TextSpec" and spec_config.get("tokenizer") == "wordpiece":
                spec_config["vocab"] = os.path.join(path, spec_config["vocab"])
            specs[name] = _SPEC_CLASSES[entry["class_name"]].from_config(spec_config)
        pipe = cls(
            schema=config["schema"],
            specs=specs,
            root=root,
            allow_missing=config.get("allow_missing", False),
            delimiter=config.get("delimiter"),
            confine_paths=config.get("confine_paths", False),
        )
        pipe._classes.update(state.get("classes", {}))
        pipe._regression_dims.update(state.get("regression_dims", {}))
        pipe._tabular_stats = {
            n: (np.array(m, np.float32), np.array(s, np.float32))
            for n, (m, s) in state.get("tabular_stats", {}).items()
        }
        for name, filename in state.get("vocabularies", {}).items():
            spec = pipe.specs[name]
            pipe._tokenizers[name] = WordTokenizer(
                WordTokenizer.load_vocabulary(os.path.join(path, filename)),
                max_length=spec.max_length,
                split=spec.split,
                lower_case=True if spec.lower_case is None else spec.lower_case,
                start_end=spec.start_end,
            )
        return pipe

    def __repr__(self):
        specs = ", ".join(f"{n}={s!r}" for n, s in self.specs.items())
        return f"Pipeline({specs})"
