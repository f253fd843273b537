"""`Spec`: the base class of a pipeline input or target, and what every modality provides."""

import copy
import os

import numpy as np
import tensorflow as tf

from mmkeras.data import file_checks
from mmkeras.data.manifest import is_empty

# Every `Spec` subclass by class name: how a saved pipeline finds the class of each spec.
SPEC_CLASSES = {}
_BUILT_IN = (
    "audio_spec",
    "categorical_spec",
    "image_spec",
    "label_spec",
    "tabular_spec",
    "text_spec",
)


def spec_classes():
    """Every `Spec` subclass by class name, the built-in ones imported first."""
    import importlib

    for module in _BUILT_IN:
        importlib.import_module(f"mmkeras.data.{module}")
    return SPEC_CLASSES


def spec_class(name):
    """The `Spec` subclass called `name`; a `ValueError` lists the known ones otherwise."""
    classes = spec_classes()
    if name not in classes:
        raise ValueError(
            f"unknown spec class {name!r}; known: {sorted(classes)} (a spec class of your own "
            "must be imported before a pipeline that uses it is loaded)"
        )
    return classes[name]


def input_seeds(seeds, index, offset=0):
    """Stateless seeds `(..., 2)` from `(seed, epoch, position)` rows, distinct per input.

    Args:
        seeds: int64 `(..., 3)`, the `(seed, epoch, position)` of each element.
        index: int, position of the input among the pipeline's inputs.
        offset: int, separates the uses of one input's seeds (a crop, an augmentation).
    """
    return tf.stack(
        [seeds[..., 0] * 1_000_003 + seeds[..., 1], seeds[..., 2] * 64 + index + offset], axis=-1
    )


def check_augment(augment, where, class_name):
    """Returns `augment`; raises unless it is None or an augmenter (has `augment_batch`)."""
    if augment is not None and not hasattr(augment, "augment_batch"):
        raise ValueError(
            f"{where}: `augment` must be an `{class_name}` or None, "
            f"received {type(augment).__name__}."
        )
    return augment


class Spec:
    """One input (or target) of a `Pipeline`: a modality, with everything it does to a value.

    A spec checks a manifest cell, learns what it needs from the training rows (`adapt`),
    decodes raw values with TensorFlow ops (the same function in training, evaluation and
    export), augments training batches, and saves what it learnt. `Pipeline` composes specs
    and asks them; it never asks which modality a spec is. A new modality is a new subclass.

    Subclasses set `modality` and override what differs from these defaults: a single-column
    input whose manifest cell is the value itself (no file), yielded unchanged.

    Class attributes:
        modality: str, the modality name (`"image"`, `"text"`, ...; `"target"` for targets).
        is_target: bool, True for a target (a `LabelSpec`), False for a model input.
        multi_column: bool, the schema maps the name to a list of columns (tabular).
        decodes_per_element: bool, training (and a cached dataset) decodes this input one
            element at a time before batching (`decode_element`, `finish_element`).
        empty_reason: reason code of an empty cell when `allow_missing=False`.
        dtype: str, dtype of the model input the spec yields.
        empty_is_valid: bool, an empty cell is a value of its own (imputed, a "missing"
            category, an empty text), never a bad row; with `allow_missing=True` it marks the
            input absent only where `is_absent` says so.
    """

    modality = None
    is_target = False
    multi_column = False
    decodes_per_element = False
    empty_reason = "value_missing"
    dtype = "float32"
    empty_is_valid = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        SPEC_CLASSES[cls.__name__] = cls

    # === State ===

    def reset_state(self):
        """Forgets what `adapt` or a load learnt (a new pipeline starts from the config)."""

    def copy_unadapted(self):
        """A copy sharing the configuration (augmenters included), without learnt state."""
        spec = copy.copy(self)
        spec.reset_state()
        return spec

    @property
    def adapted(self):
        """True when the spec knows everything it needs to build datasets."""
        return True

    def adapt(self, values, name):
        """Learns from the raw values of the usable training rows (one per row).

        Args:
            values: list of what `check` returned for each usable row.
            name: the schema name of this spec (for messages).
        """

    # === Shapes ===

    def input_shape(self, column):
        """Shape of one model input (no batch axis): the spec's `shape` unless it depends on
        `column`, the schema's column(s)."""
        return self.shape

    def feature_stats(self):
        """`(mean, std)` float32 arrays of the model input's features, as decoded, for a model
        that normalises its input (`tabular_mlp(mean=, variance=)`); None for an input that is
        not a feature vector."""
        return None

    def raw_spec(self, name, column):
        """`tf.TensorSpec` of the raw batched input `preprocess` takes."""
        return tf.TensorSpec((None,), tf.string, name=name)

    def trackables(self):
        """TensorFlow resources (lookup tables) that `decode_batch` uses."""
        return []

    # === Row checks ===

    @property
    def reads_file(self):
        """True when the manifest cell names a file that the dataset reads."""
        return False

    def check(self, name, value, column, context):
        """Checks one manifest cell.

        Args:
            name: the schema name of this spec.
            value: the cell (a list of cells for a multi-column spec).
            column: the schema's column (or list of columns).
            context: the `RowContext` (root, `allow_missing`, path rules, label checks).

        Returns:
            `(raw, size, problem)`: `raw` the value the dataset uses (a path, a text, a list of
            numbers), `size` the file size in bytes (0 without a file), `problem` None or
            `(reason, detail, path)`.
        """
        if is_empty(value):
            if context.allow_missing or self.empty_is_valid:
                return "", 0, None
            return None, 0, (self.empty_reason, f"column {column!r} is empty", None)
        if not self.reads_file:
            return self.check_value(value)
        path, problem = context.resolve(value)
        if problem:
            return None, 0, problem
        if not os.path.isfile(path):
            reason = "the path is a folder" if os.path.isdir(path) else "the file does not exist"
            return None, 0, ("file_missing", reason, path)
        try:
            return self.check_file(path, context)
        except file_checks.FileProblem as e:
            return None, 0, (e.reason, e.detail, path)
        except OSError as e:
            return None, 0, ("file_unreadable", str(e), path)

    def check_value(self, value):
        """Checks a non-empty cell that is the value itself; returns `(raw, 0, problem)`."""
        return value, 0, None

    def check_file(self, path, context):
        """Checks an existing file (headers; decoding with `context.deep`).

        Returns `(path, size, problem)`; may raise `file_checks.FileProblem` or `OSError`.
        """
        return path, os.path.getsize(path), None

    def is_absent(self, raw):
        """Whether a checked value marks the input absent (allowed by `allow_missing`)."""
        return raw == ""

    # === Datasets ===

    def table_column(self, values):
        """The column of the dataset's table: one entry per usable row, as a numpy array."""
        if self.reads_file:
            # Paths as bytes: a file name that is not UTF-8 still reaches the file.
            return np.array([os.fsencode(v) for v in values], object)
        return np.array(values, object)

    def decode_batch(self, x):
        """Deterministic preprocessing of a raw batch (evaluation, export).

        Returns:
            `(inputs, present)`: the model input and a bool `(B,)`, False where absent.
        """
        return x, tf.strings.length(x) > 0

    def decode_element(self, x):
        """Deterministic decoding of one raw element, before batching (and before a cache)."""
        return x

    def finish_element(self, x, seeds, index, training):
        """Turns a `decode_element` result into one model input (a random crop in training).

        Args:
            x: what `decode_element` returned.
            seeds: int64 `(3,)`, `(seed, epoch, position)` of the element.
            index: position of the input among the pipeline's inputs.
            training: bool.
        """
        return x

    def augment_batch(self, x, seeds, index):
        """Training augmentation of a batch of model inputs; `seeds` is int64 `(B, 3)`."""
        return x

    def record_value(self, x, image_dtype):
        """A batch of model inputs as `write_tfrecords` stores it."""
        return x

    # === Saving ===

    def save_assets(self, folder, name):
        """Writes the learnt state of input `name` into the pipeline folder `folder`.

        Returns:
            `(config, state)`: the spec's config as saved, and `{section: value}` entries of the
            saved pipeline's `state` (sections such as `"vocabularies"` map names to values).
        """
        return self.get_config(), {}

    @classmethod
    def from_saved_config(cls, config, folder):
        """The spec of a config that `save_assets` wrote into `folder`."""
        return cls.from_config(config)

    def load_state(self, state, folder):
        """Restores what `save_assets` saved: `state` is `{section: value}` for this spec."""

    def get_config(self):
        """The constructor arguments, as JSON-compatible values."""
        raise NotImplementedError

    @classmethod
    def augment_class(cls):
        """The class of this spec's `augment` argument (None: the spec takes no augmenter)."""
        return None

    def augment_config(self):
        """The augmenter's `get_config`, or None without one (for the spec's `get_config`)."""
        augment = getattr(self, "augment", None)
        return None if augment is None else augment.get_config()

    @classmethod
    def from_config(cls, config):
        """The spec of a `get_config` result (an `augment` config becomes an augmenter again)."""
        config = dict(config)
        if config.get("augment") is not None:
            config["augment"] = cls.augment_class().from_config(config["augment"])
        return cls(**config)
