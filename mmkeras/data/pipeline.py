"""`Pipeline`: manifests to validated, batched model inputs with `tf.data`."""

import json
import os
import sys

import numpy as np
import tensorflow as tf

from mmkeras.data.data_validation_error import DataValidationError
from mmkeras.data.manifest import check_delimiter
from mmkeras.data.manifest_dataset import manifest_dataset
from mmkeras.data.row_checks import check_rows
from mmkeras.data.skip_report import SkipReport
from mmkeras.data.spec import SPEC_CLASSES
from mmkeras.data.spec_attachment import attach_specs, check_schema
from mmkeras.data.validation_report import ValidationReport

_ERRORS = ("raise", "skip")
_CONFIG_FILE = "pipeline.json"


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
        check_schema(schema)
        for name, value in (("allow_missing", allow_missing), ("confine_paths", confine_paths)):
            if not isinstance(value, bool):
                raise ValueError(f"Pipeline: `{name}` must be a bool, received {value!r}.")
        check_delimiter(delimiter, "Pipeline")
        shorthands = {"image": image, "text": text, "audio": audio, "tabular": tabular}
        shorthands["label"] = label
        attached = attach_specs(schema, shorthands, specs, targets)
        self.schema = {k: (v if isinstance(v, str) else list(v)) for k, v in schema.items()}
        self.specs = attached
        self.input_names = [n for n in schema if not self.specs[n].is_target]
        self.target_names = [n for n in schema if self.specs[n].is_target]
        if not self.input_names:
            raise ValueError("Pipeline: the schema has no input (only targets).")
        if "present" in schema:
            raise ValueError("Pipeline: 'present' is reserved for the presence mask.")
        self.root = None if root is None else os.fspath(root)
        self.allow_missing = allow_missing
        self.delimiter = delimiter
        self.confine_paths = confine_paths
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
        return all(spec.adapted for spec in self.specs.values())

    def _single_or_dict(self, mapping):
        if len(self.target_names) == 1:
            return mapping[self.target_names[0]]
        return mapping

    @property
    def labels(self):
        """Class names in index order: a list (one target) or `{target: list}` (several)."""
        return self._single_or_dict(
            {n: list(self.specs[n].labels or []) for n in self.target_names}
        )

    @property
    def num_classes(self):
        """Number of classes (or regression outputs): an int, or `{target: int}` for several."""
        return self._single_or_dict({n: self.target_size(n) for n in self.target_names})

    def target_size(self, name):
        """Classes (classification, multi-label) or values (regression) of target `name`."""
        return self.specs[name].size

    def tokenizer(self, name):
        """The tokenizer of text input `name` (a `WordTokenizer` or WordPiece tokenizer)."""
        tok = self.specs[name].text_tokenizer
        if tok is None:
            raise ValueError(
                f"Text input {name!r} has no vocabulary yet: call `pipe.adapt(train_manifest)`."
            )
        return tok

    def vocab_size(self, name):
        """Number of token ids of text input `name` (for sizing the text branch)."""
        return self.tokenizer(name).vocab_size

    def tabular_stats(self, name):
        """`(mean, std)` float32 arrays of tabular input `name`, computed by `adapt`."""
        if self.specs[name].stats is None:
            raise KeyError(name)
        return self.specs[name].stats

    def num_features(self, name):
        """Number of columns (features) of tabular input `name`."""
        return len(self.schema[name])

    def input_specs(self):
        """Describes the model inputs the pipeline yields.

        Returns:
            dict `{name: {"modality", "shape", "dtype"}}` in schema order (shapes without the
            batch dimension), plus `"present"` when `allow_missing=True`.
        """
        out = {}
        for name in self.input_names:
            spec = self.specs[name]
            out[name] = {
                "modality": spec.modality,
                "shape": spec.input_shape(self.schema[name]),
                "dtype": spec.dtype,
            }
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
        return {n: self.specs[n].raw_spec(n, self.schema[n]) for n in self.input_names}

    def trackables(self):
        """TensorFlow resources (vocabulary tables) that `preprocess` uses.

        A SavedModel whose functions call `preprocess` must track them (for example
        `keras.export.ExportArchive.track(...)` or attributes of a `tf.Module`).
        """
        return [t for name in self.input_names for t in self.specs[name].trackables()]

    # === Validate and adapt ===

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
        return check_rows(self, manifest, deep=deep)[1]

    def adapt(self, manifest):
        """Learns from the (training) manifest what `dataset()` needs.

        Each spec learns from the usable rows: the word vocabularies, the label index of each
        classification / multi-label target (unless `LabelSpec(classes=...)` fixed it), the size
        of regression targets and the statistics of tabular inputs. Unusable rows are left out
        (see the returned report).

        Args:
            manifest: CSV / JSONL path, list of dicts or DataFrame.

        Returns:
            The `ValidationReport` of the manifest.
        """
        rows, report = check_rows(self, manifest, check_labels=False)
        if not rows:
            raise DataValidationError(f"adapt: no usable rows.\n{report}", report)
        for name in self.input_names + self.target_names:
            self.specs[name].adapt([row[name][0] for row in rows], name)
        return report

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
        rows, _ = check_rows(self, manifest)
        classes = self.specs[target].labels
        counts = np.zeros(len(classes))
        for row in rows:
            counts[classes.index(row[target][0])] += 1
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
        out, present = {}, []
        for index, name in enumerate(self.input_names):
            spec = self.specs[name]
            if f"__present/{name}" in raw:  # decoded one element at a time before batching
                x, is_present = raw[name], raw[f"__present/{name}"]
            else:
                x, is_present = spec.decode_batch(raw[name])
            out[name] = spec.augment_batch(x, seeds, index) if training else x
            present.append(is_present)
        if self.allow_missing:
            out["present"] = tf.cast(tf.stack(present, axis=1), tf.float32)
        return out

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
        initial_epoch=0,
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
            cache: bool, default False. True: keep the decoded elements in memory after the
                first complete epoch (`tf.data.Dataset.cache`), so later epochs read no file
                and decode nothing. The cache sits after decoding and before everything that
                changes per epoch: each epoch is still shuffled anew (a seeded buffer shuffle
                of the cached elements, so the order differs from `cache=False`) and gets fresh
                augmentation (OpenCV, audio augmentation and random audio crops). Rows dropped
                while the first epoch was read stay dropped. A TFRecord folder caches its
                parsed samples. Needs memory for the decoded dataset.
            verbose: print the rows validation dropped once, when the dataset is built, and a
                row that fails at run time once, at the end of the epoch that found it; never
                the same line every epoch.
            shard: optional `(num_shards, index)`, TFRecord folders only: read only the files
                of input pipeline `index` (multi-worker training shards by file).
            return_report: also return the dataset's `SkipReport`.
            initial_epoch: int, the number of the first epoch the dataset yields (epochs number
                the shuffling and augmentation seeds; a resumed run starts from its epoch).

        Returns:
            A `tf.data.Dataset`, or `(dataset, SkipReport)` with `return_report=True`. The
            report counts the rows dropped, by validation and in each epoch, and is the one
            place a training loop reads them from (`pipe.skipped` holds the report of the last
            dataset built, for convenience).
        """
        if errors not in _ERRORS:
            raise ValueError(f"dataset: `errors` must be one of {_ERRORS}, received {errors!r}.")
        for arg, value, low in (("batch_size", batch_size, 1), ("initial_epoch", initial_epoch, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                allowed = "a positive int" if low else "a non-negative int"
                raise ValueError(f"dataset: `{arg}` must be {allowed}, received {value!r}.")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"dataset: `seed` must be a non-negative int, received {seed!r}.")
        if not isinstance(cache, bool):
            raise ValueError(f"dataset: `cache` must be a bool, received {cache!r}.")
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
                initial_epoch=initial_epoch,
            )
            # Rows were validated when the records were written; none is dropped here.
            meta = read_tfrecord_meta(source)
            skips = SkipReport(
                ValidationReport(os.fspath(source), meta["num_samples"]), errors, verbose
            )
            self._skips = skips
            return (ds, skips) if return_report else ds
        rows, report = check_rows(self, source)
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
        epoch_var = tf.Variable(initial_epoch, dtype=tf.int64, trainable=False)
        variables = [epoch_var]
        ds = manifest_dataset(
            self, rows, skips, training, shuffle, seed, cache, epoch_var, variables
        )

        def batch_fn(raw, targets, seeds):
            inputs = self._transform(raw, training=training, seeds=seeds)
            return inputs, self._single_or_dict(targets)

        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        ds = ds.map(batch_fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        ds = ds.prefetch(tf.data.AUTOTUNE)
        if errors == "raise":
            n = len(rows)
            batches = n // batch_size if drop_remainder else -(-n // batch_size)
            ds = ds.apply(tf.data.experimental.assert_cardinality(batches))
        # The graph holds the variables' handles only: they must live as long as the dataset.
        ds._mmkeras_variables = variables
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
        """The constructor arguments (specs as `{"class_name", "config"}`), JSON-compatible."""
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
        state = {}
        for name, spec in self.specs.items():
            spec_config, spec_state = spec.save_assets(path, name)
            config["specs"][name]["config"] = spec_config
            for section, value in spec_state.items():
                state.setdefault(section, {})[name] = value
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
        specs = {
            name: SPEC_CLASSES[entry["class_name"]].from_saved_config(entry["config"], path)
            for name, entry in config["specs"].items()
        }
        pipe = cls(
            schema=config["schema"],
            specs=specs,
            root=root,
            allow_missing=config.get("allow_missing", False),
            delimiter=config.get("delimiter"),
            confine_paths=config.get("confine_paths", False),
        )
        for name, spec in pipe.specs.items():
            spec.load_state(
                {section: values[name] for section, values in state.items() if name in values},
                path,
            )
        return pipe

    def __repr__(self):
        specs = ", ".join(f"{n}={s!r}" for n, s in self.specs.items())
        return f"Pipeline({specs})"
