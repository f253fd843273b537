"""`Pipeline`: manifests to validated, batched model inputs with `tf.data`."""

import functools
import os

import tensorflow as tf

from mmkeras.data._checks import check_dataset_args
from mmkeras.data.data_validation_error import DataValidationError
from mmkeras.data.manifest import check_delimiter
from mmkeras.data.manifest_dataset import manifest_dataset
from mmkeras.data.pipeline_saving import load_pipeline, save_pipeline
from mmkeras.data.row_checks import check_rows
from mmkeras.data.spec_attachment import attach_specs, check_schema


class Pipeline:
    """Turns a manifest into batches of model inputs: validation, decoding, augmentation.

    The schema maps names to manifest columns. Its keys are the model's input names (the branch
    names) and target names; the spec attached to a name gives its modality. `image=`, `text=`,
    `audio=`, `tabular=` and `label=` attach a spec to the schema key of that name; `specs=`
    (and `targets=`, for `LabelSpec`s) attach specs to any names, so several inputs may share a
    modality. A schema key `"label"` without a spec is a classification target. Specs carry
    their modality's behaviour (`mmkeras.data.spec.Spec`); the pipeline composes its own copies.

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
    >>> from mmkeras.data import ImageSpec, OpenCVAugment, Pipeline, TextSpec
    >>> pipe = Pipeline(
    ...     schema={"image": "image", "text": "text", "label": "label"},
    ...     image=ImageSpec(size=(64, 64), augment=OpenCVAugment(rotation=30, flip="horizontal")),
    ...     text=TextSpec(tokenizer="word", max_length=16, vocab_size=20000))
    >>> pipe.adapt("train.csv")
    ValidationReport('train.csv: all 12 rows are usable.')
    >>> train_ds = pipe.dataset("train.csv", training=True, batch_size=4, seed=0)
    >>> inputs, labels = next(iter(train_ds))
    >>> print(inputs["image"].shape, inputs["text"].shape, labels.shape)
    (4, 64, 64, 3) (4, 16) (4,)
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
        """The modality of input `name` ("image", "text", "categorical", ...; "target")."""
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
        """`(mean, std)` float32 arrays of tabular input `name` per column, from `adapt`."""
        if self.specs[name].stats is None:
            raise KeyError(name)
        return self.specs[name].stats

    def feature_stats(self, name):
        """`(mean, std)` of the features input `name` yields (`KeyError` for an input without
        a feature vector), to normalise them in the model; see `Spec.feature_stats`."""
        stats = self.specs[name].feature_stats()
        if stats is None:
            raise KeyError(name)
        return stats

    def num_features(self, name):
        """Number of features of tabular or categorical input `name` (its model input width)."""
        return self.specs[name].input_shape(self.schema[name])[0]

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
        from mmkeras.data.class_weights import balanced_class_weights

        return balanced_class_weights(self, manifest, target)

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
            cache: bool, default False. True: keep the decoded rows in memory once the first
                epoch has read them (`tf.data.Dataset.cache`), so later epochs read no file and
                decode nothing. The cache sits after decoding and before everything that
                changes per epoch: each epoch is still shuffled anew and gets fresh
                augmentation (OpenCV, audio augmentation, random audio crops), and the batches
                are the ones `cache=False` yields. Rows dropped while the first epoch was read
                stay dropped. Needs memory for about twice the decoded rows (the cache and
                the current epoch's order). A TFRecord folder caches its parsed samples.
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
        check_dataset_args(source, batch_size, seed, errors, cache, shard, initial_epoch)
        shuffle = training if shuffle is None else shuffle
        self._require_adapted()
        self.trackables()  # creates lookup tables eagerly, outside the dataset functions
        if isinstance(source, str | os.PathLike) and os.path.isdir(source):
            from mmkeras.data.tfrecords import tfrecord_dataset

            read = functools.partial(
                tfrecord_dataset, shard=None if shard is None else tuple(shard)
            )
        else:
            read = manifest_dataset
        ds, self._skips = read(
            self,
            source,
            training=training,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            errors=errors,
            drop_remainder=drop_remainder,
            cache=cache,
            verbose=verbose,
            initial_epoch=initial_epoch,
        )
        return (ds, self._skips) if return_report else ds

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
        save_pipeline(self, path)

    @classmethod
    def load(cls, path):
        """Loads a pipeline saved by `save` (specs, vocabularies, labels, statistics).

        The data root is the absolute path recorded at save time when that folder exists;
        otherwise (a save made before it was recorded, or a folder that moved) the root is
        the one saved, as given.
        """
        return load_pipeline(cls, path)

    def __repr__(self):
        specs = ", ".join(f"{n}={s!r}" for n, s in self.specs.items())
        return f"Pipeline({specs})"
