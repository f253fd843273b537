"""`CategoricalSpec`: one-hot vectors of categories read from manifest columns."""

import collections

import numpy as np
import tensorflow as tf

from mmkeras.argument_checks import check_positive_int
from mmkeras.data.manifest import is_empty
from mmkeras.data.spec import Spec

# A lookup key is the column's index, this separator and the category: one table serves every
# column, and the same category in two columns gets two slots.
_SEPARATOR = ":"


class CategoricalSpec(Spec):
    """Describes a categorical input of a `Pipeline`: one-hot vectors of categories.

    The schema value of a categorical input is a list of manifest columns. Every cell is read
    as a string with surrounding whitespace removed; numbers too, as their text, so `"3"` and
    `"3.0"` are two categories (a JSON or DataFrame number `3` reads as `"3"`, `3.0` as
    `"3.0"`). An empty cell (or NaN) is a value of its own, "missing", never a bad row; with
    `allow_missing=True` a row whose cells are all empty marks the input absent.

    `Pipeline.adapt` learns the categories of each column: its most frequent values seen at
    least `min_count` times, at most `max_categories` of them (ties broken by the value's text,
    so the categories do not depend on row order). The input yields float32 one-hot vectors, one
    per column, concatenated in schema order: per column one slot per known category (most
    frequent first), then one "unknown" slot (a value not learnt) and one "missing" slot (an
    empty cell). The lookup is TensorFlow ops, so an exported model takes the raw strings
    (tf.string `(batch, columns)`).

    Args:
        max_categories: int, the most categories learnt per column.
        min_count: int, a value seen fewer times in the training rows is "unknown".

    Example:
    >>> pipe = mmkeras.data.Pipeline(
    ...     schema={"place": ["city"], "label": "y"},
    ...     specs={"place": CategoricalSpec(max_categories=2)})
    >>> report = pipe.adapt([{"city": "paris", "y": "a"}, {"city": "rome", "y": "b"},
    ...                      {"city": "paris", "y": "a"}, {"city": "oslo", "y": "b"}])
    >>> pipe.specs["place"].categories  # paris twice, then the tie of oslo and rome
    [['paris', 'oslo']]
    >>> pipe.preprocess({"place": tf.constant([["paris"], ["lima"], [""]])})["place"].numpy()
    array([[1., 0., 0., 0.],
           [0., 0., 1., 0.],
           [0., 0., 0., 1.]], dtype=float32)
    """

    modality = "categorical"
    multi_column = True
    empty_is_valid = True

    def __init__(self, max_categories=50, min_count=1):
        check_positive_int("max_categories", max_categories, "CategoricalSpec")
        check_positive_int("min_count", min_count, "CategoricalSpec")
        self.max_categories = max_categories
        self.min_count = min_count
        self.reset_state()

    # === State ===

    def reset_state(self):
        self.categories = None  # per column, the list of learnt categories
        self._table = None

    @property
    def adapted(self):
        return self.categories is not None

    def adapt(self, values, name):
        """Learns each column's most frequent categories from the training rows."""
        columns = zip(*values, strict=True) if values else []
        self.categories = [self._learn(cells) for cells in columns]
        self._table = None

    def _learn(self, cells):
        counts = collections.Counter(c for c in cells if c != "")
        kept = sorted(
            (v for v, n in counts.items() if n >= self.min_count), key=lambda v: (-counts[v], v)
        )
        return kept[: self.max_categories]

    def _require_adapted(self):
        if self.categories is None:
            raise ValueError(
                "CategoricalSpec: the categories are not known yet: call "
                "`pipe.adapt(train_manifest)` or load a saved pipeline."
            )

    # === Shapes ===

    @property
    def widths(self):
        """Per column, the number of one-hot slots: categories, unknown, missing."""
        self._require_adapted()
        return [len(c) + 2 for c in self.categories]

    def input_shape(self, column):
        return (sum(self.widths),)

    def feature_stats(self):
        # One-hot slots are left as they are (no standardisation of rare categories).
        width = sum(self.widths)
        return np.zeros(width, np.float32), np.ones(width, np.float32)

    def raw_spec(self, name, column):
        return tf.TensorSpec((None, len(column)), tf.string, name=name)

    def trackables(self):
        return [] if self.categories is None else [self._lookup_table()]

    # === Row checks ===

    def check(self, name, value, column, context):
        cells = []
        for col, v in zip(column, value, strict=True):
            text = "" if is_empty(v) else str(v).strip()
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                detail = f"column {col!r} is not valid UTF-8 text"
                return None, 0, ("text_not_utf8", detail, None)
            cells.append(text)
        return cells, 0, None

    def is_absent(self, raw):
        return all(v == "" for v in raw)

    # === Decoding ===

    def table_column(self, values):
        return np.array(values, object).reshape(len(values), -1)

    def _lookup_table(self):
        if self._table is None:
            self._require_adapted()
            keys, ids, offset = [], [], 0
            for index, categories in enumerate(self.categories):
                keys += [f"{index}{_SEPARATOR}{c}" for c in categories]
                ids += range(offset, offset + len(categories))
                offset += len(categories) + 2
            # Created eagerly even when first needed while tracing a dataset function, so that
            # every dataset and exported function shares one table.
            with tf.init_scope():
                self._table = tf.lookup.StaticHashTable(
                    tf.lookup.KeyValueTensorInitializer(
                        tf.constant(keys, tf.string), tf.constant(ids, tf.int64)
                    ),
                    default_value=-1,
                )
        return self._table

    def decode_batch(self, x):
        widths = np.array(self.widths, np.int64)
        unknown = np.cumsum(widths) - 2  # per column, the slot of an unknown value
        prefixes = [f"{i}{_SEPARATOR}" for i in range(len(widths))]
        x = tf.strings.strip(x)
        empty = tf.equal(x, "")
        ids = self._lookup_table().lookup(tf.constant(prefixes) + x)
        ids = tf.where(ids < 0, unknown, ids)
        ids = tf.where(empty, unknown + 1, ids)
        one_hot = tf.reduce_sum(tf.one_hot(ids, int(widths.sum()), dtype=tf.float32), axis=1)
        return one_hot, tf.logical_not(tf.reduce_all(empty, axis=1))

    # === Saving ===

    def save_assets(self, folder, name):
        if self.categories is None:
            return self.get_config(), {}
        return self.get_config(), {"categories": self.categories}

    def load_state(self, state, folder):
        if "categories" in state:
            self.categories = [list(c) for c in state["categories"]]
            self._table = None

    # === Config ===

    def get_config(self):
        return {"max_categories": self.max_categories, "min_count": self.min_count}

    def __repr__(self):
        return f"CategoricalSpec(max_categories={self.max_categories}, min_count={self.min_count})"
