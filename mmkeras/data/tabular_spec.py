"""`TabularSpec`: a vector of numeric features read from manifest columns."""

import math

import numpy as np
import tensorflow as tf

from mmkeras.argument_checks import check_bool
from mmkeras.data.manifest import is_empty
from mmkeras.data.spec import Spec


def _nonzero(std):
    return np.where(std > 0, std, 1.0).astype(np.float32)


class TabularSpec(Spec):
    """Describes a tabular input of a `Pipeline`.

    The schema value of a tabular input is a list of manifest columns (one feature each).
    Values must be numbers; `Pipeline.adapt` records per-feature mean and standard deviation
    over the training rows that have the value, available as `pipe.tabular_stats(name)`, and
    applies them when `normalize=True` (by default the raw values are yielded, since
    `tabular_mlp` normalises inside the model).

    With `impute=True` a missing value (an empty cell or NaN) is data, not a bad row: the input
    yields `2 * F` features, the `F` values with each gap replaced by the training mean of its
    column, followed by `F` missingness indicators (1.0 where the value was missing). The
    replacement runs in TensorFlow ops on NaN, so an exported model imputes a request's NaN the
    same way. Infinite and non-numeric values are still bad rows.

    Args:
        normalize: bool, standardise features with the statistics computed by `adapt`.
        impute: bool, replace missing values by the training means and add missingness
            indicators.

    Example:
    >>> pipe = mmkeras.data.Pipeline(
    ...     schema={"meta": ["age", "height"], "label": "y"},
    ...     specs={"meta": TabularSpec(normalize=True, impute=True)})
    """

    modality = "tabular"
    multi_column = True

    def __init__(self, normalize=False, impute=False):
        self.normalize = check_bool("normalize", normalize, "TabularSpec")
        self.impute = check_bool("impute", impute, "TabularSpec")
        self.reset_state()

    @property
    def empty_is_valid(self):
        return self.impute

    # === State ===

    def reset_state(self):
        self.stats = None  # (mean, std) float32 arrays, set by `adapt` or a load
        self.missing_rate = None  # share of training rows missing each value (impute=True)

    @property
    def adapted(self):
        return not (self.normalize or self.impute) or self.stats is not None

    def adapt(self, values, name):
        """Records per-feature mean and standard deviation over the rows that have a value
        (and, with `impute=True`, the share of rows missing each value)."""
        values = np.array(values, np.float64).reshape(len(values), -1)
        missing = np.isnan(values)
        if not self.impute:
            values = values[~missing.all(axis=1)]
            missing = np.zeros(values.shape, bool)
        counts = (~missing).sum(axis=0)
        filled = np.where(missing, 0.0, values)
        mean = filled.sum(axis=0) / np.maximum(counts, 1)
        var = np.where(missing, 0.0, (filled - mean) ** 2).sum(axis=0) / np.maximum(counts, 1)
        self.stats = (mean.astype(np.float32), _nonzero(np.sqrt(var)))
        self.missing_rate = missing.mean(axis=0).astype(np.float32) if self.impute else None

    def feature_stats(self):
        """`(mean, std)` of the features as decoded (imputed values, then indicators)."""
        if self.stats is None:
            return None
        mean, std = self.stats
        if self.normalize:
            mean, std = np.zeros_like(mean), np.ones_like(std)
        if not self.impute:
            return mean, std
        # An imputed value adds nothing to the spread of its column.
        rate = np.zeros_like(mean) if self.missing_rate is None else self.missing_rate
        value_std = std * np.sqrt(1.0 - rate)
        indicator_std = np.sqrt(rate * (1.0 - rate))
        return (
            np.concatenate([mean, rate]).astype(np.float32),
            _nonzero(np.concatenate([value_std, indicator_std])),
        )

    # === Shapes ===

    def input_shape(self, column):
        return (len(column) * (2 if self.impute else 1),)

    def raw_spec(self, name, column):
        return tf.TensorSpec((None, len(column)), tf.float32, name=name)

    # === Row checks ===

    def check(self, name, value, column, context):
        if all(is_empty(v) for v in value):
            if context.allow_missing or self.impute:
                return [math.nan] * len(value), 0, None
            return None, 0, ("value_missing", "the tabular values are empty", None)
        features = []
        for col, v in zip(column, value, strict=True):
            if is_empty(v):
                if not self.impute:
                    return None, 0, ("value_missing", f"column {col!r} is empty", None)
                features.append(math.nan)
                continue
            try:
                f = float(v)
            except (TypeError, ValueError):
                return None, 0, ("tabular_not_numeric", f"{col}={v!r}", None)
            if not math.isfinite(f) and not (self.impute and math.isnan(f)):
                return None, 0, ("tabular_not_finite", f"{col}={v!r}", None)
            features.append(f)
        return features, 0, None

    def is_absent(self, raw):
        return all(math.isnan(v) for v in raw)

    # === Decoding ===

    def table_column(self, values):
        return np.array(values, np.float32)

    def decode_batch(self, x):
        x = tf.cast(x, tf.float32)
        missing = tf.math.is_nan(x)
        present = tf.logical_not(tf.reduce_all(missing, axis=1))
        if self.impute:
            x = tf.where(missing, self.stats[0], x)
        else:
            x = tf.where(missing, 0.0, x)
        if self.normalize:
            mean, std = self.stats
            x = (x - mean) / std
            if not self.impute:
                x = tf.where(present[:, None], x, 0.0)
        if self.impute:
            x = tf.concat([x, tf.cast(missing, tf.float32)], axis=1)
        return x, present

    # === Saving ===

    def save_assets(self, folder, name):
        if self.stats is None:
            return self.get_config(), {}
        mean, std = self.stats
        state = {"tabular_stats": [mean.tolist(), std.tolist()]}
        if self.missing_rate is not None:
            state["tabular_missing_rates"] = self.missing_rate.tolist()
        return self.get_config(), state

    def load_state(self, state, folder):
        if "tabular_stats" in state:
            mean, std = state["tabular_stats"]
            self.stats = (np.array(mean, np.float32), np.array(std, np.float32))
        if "tabular_missing_rates" in state:
            self.missing_rate = np.array(state["tabular_missing_rates"], np.float32)

    # === Config ===

    def get_config(self):
        return {"normalize": self.normalize, "impute": self.impute}

    def __repr__(self):
        return f"TabularSpec(normalize={self.normalize}, impute={self.impute})"
