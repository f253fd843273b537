"""`TabularSpec`: a vector of numeric features read from manifest columns."""

import math

import numpy as np
import tensorflow as tf

from mmkeras.data.manifest import is_empty
from mmkeras.data.spec import Spec


class TabularSpec(Spec):
    """Describes a tabular input of a `Pipeline`.

    The schema value of a tabular input is a list of manifest columns (one feature each). Values
    must be finite numbers; `Pipeline.adapt` records per-feature mean and standard deviation,
    available as `pipe.tabular_stats(name)`, and applies them when `normalize=True` (by default
    the raw values are yielded, since `tabular_mlp` normalises inside the model).

    Args:
        normalize: bool, standardise features with the statistics computed by `adapt`.

    Example:
    >>> pipe = Pipeline(schema={"meta": ["age", "height"], "label": "y"}, tabular=None,
    ...                 specs={"meta": TabularSpec()})
    """

    modality = "tabular"
    multi_column = True

    def __init__(self, normalize=False):
        if not isinstance(normalize, bool):
            raise ValueError(f"TabularSpec: `normalize` must be a bool, received {normalize!r}.")
        self.normalize = normalize
        self.reset_state()

    # === State ===

    def reset_state(self):
        self.stats = None  # (mean, std) float32 arrays, set by `adapt` or a load

    @property
    def adapted(self):
        return not self.normalize or self.stats is not None

    def adapt(self, values, name):
        """Records per-feature mean and standard deviation of the rows that have values."""
        values = np.array([v for v in values if not math.isnan(v[0])], np.float64)
        std = values.std(axis=0)
        self.stats = (
            values.mean(axis=0).astype(np.float32),
            np.where(std > 0, std, 1.0).astype(np.float32),
        )

    # === Shapes ===

    def input_shape(self, column):
        return (len(column),)

    def raw_spec(self, name, column):
        return tf.TensorSpec((None, len(column)), tf.float32, name=name)

    # === Row checks ===

    def check(self, name, value, column, context):
        if all(is_empty(v) for v in value):
            if context.allow_missing:
                return [math.nan] * len(value), 0, None
            return None, 0, ("value_missing", "the tabular values are empty", None)
        features = []
        for col, v in zip(column, value, strict=True):
            if is_empty(v):
                return None, 0, ("value_missing", f"column {col!r} is empty", None)
            try:
                f = float(v)
            except (TypeError, ValueError):
                return None, 0, ("tabular_not_numeric", f"{col}={v!r}", None)
            if not math.isfinite(f):
                return None, 0, ("tabular_not_finite", f"{col}={v!r}", None)
            features.append(f)
        return features, 0, None

    def is_absent(self, raw):
        return math.isnan(raw[0])

    # === Decoding ===

    def table_column(self, values):
        return np.array(values, np.float32)

    def decode_batch(self, x):
        x = tf.cast(x, tf.float32)
        present = tf.logical_not(tf.reduce_all(tf.math.is_nan(x), axis=1))
        x = tf.where(tf.math.is_nan(x), 0.0, x)
        if self.normalize:
            mean, std = self.stats
            x = tf.where(present[:, None], (x - mean) / std, 0.0)
        return x, present

    # === Saving ===

    def save_assets(self, folder, name):
        if self.stats is None:
            return self.get_config(), {}
        mean, std = self.stats
        return self.get_config(), {"tabular_stats": [mean.tolist(), std.tolist()]}

    def load_state(self, state, folder):
        if "tabular_stats" in state:
            mean, std = state["tabular_stats"]
            self.stats = (np.array(mean, np.float32), np.array(std, np.float32))

    # === Config ===

    def get_config(self):
        return {"normalize": self.normalize}

    def __repr__(self):
        return f"TabularSpec(normalize={self.normalize})"
