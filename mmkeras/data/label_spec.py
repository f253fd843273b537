"""`LabelSpec`: one target (task) read from a manifest column."""

import math

import numpy as np

from mmkeras.argument_checks import check_choice
from mmkeras.data.manifest import is_empty
from mmkeras.data.spec import Spec

_KINDS = ("classification", "multilabel", "regression")


def label_key(value):
    """The pipeline's key for a label cell (a JSON 3.0 and a CSV "3" are the same class)."""
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


class LabelSpec(Spec):
    """Describes a target of a `Pipeline`.

    - `"classification"`: string or integer labels, mapped to class indices `(B,)` int32 by an
      index that `Pipeline.adapt` builds (sorted: numerically when every label is an integer) or
      that `classes` fixes. A label outside the index is a validation error.
    - `"multilabel"`: cells like `"cat|dog"` (split on `separator`; empty = no label), yielded as
      multi-hot float32 `(B, L)`.
    - `"regression"`: a number, or `separator`-joined numbers, yielded as float32 `(B, N)`.

    Args:
        kind: `"classification"`, `"multilabel"` or `"regression"`.
        classes: optional fixed list of class names (classification and multi-label).
        separator: str, separates labels (multi-label) or values (regression) in one cell.

    Example:
    >>> pipe = mmkeras.data.Pipeline(
    ...     schema={"image": "path", "digit": "digit", "tags": "tags"},
    ...     image=mmkeras.data.ImageSpec(size=(32, 32)),
    ...     targets={"digit": LabelSpec(), "tags": LabelSpec(kind="multilabel")})
    """

    modality = "target"
    is_target = True

    def __init__(self, kind="classification", classes=None, separator="|"):
        check_choice("kind", kind, _KINDS, "LabelSpec")
        if classes is not None:
            if kind == "regression":
                raise ValueError(
                    "LabelSpec: `classes` is for classification and multilabel targets, "
                    f"received classes={classes!r} with kind='regression'."
                )
            if not isinstance(classes, list | tuple) or not classes:
                raise ValueError(
                    f"LabelSpec: `classes` must be a non-empty list or None, received {classes!r}."
                )
            classes = [str(c) for c in classes]
            if len(set(classes)) != len(classes):
                raise ValueError(f"LabelSpec: `classes` has duplicates: {classes!r}.")
        if not isinstance(separator, str) or not separator:
            raise ValueError(
                f"LabelSpec: `separator` must be a non-empty str, received {separator!r}."
            )
        self.kind = kind
        self.classes = None if classes is None else list(classes)
        self.separator = separator
        self.reset_state()

    # === State ===

    def reset_state(self):
        # The label index (fixed by `classes`, else built by `adapt`) and the regression size.
        self.labels = None if self.classes is None else list(self.classes)
        self.num_values = None

    @property
    def adapted(self):
        if self.kind == "regression":
            return self.num_values is not None
        return self.labels is not None

    @property
    def size(self):
        """Classes (classification, multi-label) or values (regression); None until known."""
        if self.kind == "regression":
            return self.num_values
        return None if self.labels is None else len(self.labels)

    def adapt(self, values, name):
        """Builds the label index (unless `classes` fixed it) or the regression size."""
        if self.kind == "regression":
            dims = {len(v) for v in values}
            if len(dims) != 1:
                raise ValueError(
                    f"adapt: regression target {name!r} has rows with {sorted(dims)} values; "
                    "every row must have the same number."
                )
            self.num_values = dims.pop()
        elif not self.classes:
            keys = set()
            for v in values:
                keys.update(v if self.kind == "multilabel" else [v])
            self.labels = _sorted_classes(keys)

    # === Row checks ===

    def check(self, name, value, column, context):
        """Checks one label cell; with `context.check_labels`, against the label index."""
        labels = self.labels if context.check_labels else None
        if self.kind == "multilabel":
            keys = (
                []
                if is_empty(value)
                else [label_key(k) for k in str(value).split(self.separator) if k.strip()]
            )
            unknown = [k for k in keys if labels is not None and k not in labels]
            if unknown:
                return (
                    None,
                    0,
                    ("label_unknown", f"{name}: labels {unknown} not in the index", None),
                )
            return keys, 0, None
        if is_empty(value):
            detail = f"target {name!r} (column {column!r}) is empty"
            return None, 0, ("value_missing", detail, None)
        if self.kind == "classification":
            key = label_key(value)
            if labels is not None and key not in labels:
                detail = f"{name}: label {key!r} is not one of {len(labels)} classes"
                return None, 0, ("label_unknown", detail, None)
            return key, 0, None
        parts = value if isinstance(value, list | tuple) else str(value).split(self.separator)
        try:
            numbers = (
                [float(p) for p in parts]
                if isinstance(value, list | tuple | str)
                else [float(value)]
            )
        except (TypeError, ValueError):
            return None, 0, ("label_invalid", f"{name}: {value!r} is not a number", None)
        if not all(math.isfinite(x) for x in numbers):
            return None, 0, ("label_invalid", f"{name}: {value!r} is not finite", None)
        dims = self.num_values if context.check_labels else None
        if dims is not None and len(numbers) != dims:
            detail = f"{name}: {len(numbers)} values, expected {dims}"
            return None, 0, ("label_invalid", detail, None)
        return numbers, 0, None

    # === Datasets ===

    def table_column(self, values):
        """Class indices int32 `(N,)`, multi-hot float32 `(N, L)` or values float32 `(N, V)`."""
        if self.kind == "regression":
            return np.array(values, np.float32)
        index = {c: i for i, c in enumerate(self.labels)}
        if self.kind == "classification":
            return np.array([index[v] for v in values], np.int32)
        hot = np.zeros((len(values), len(index)), np.float32)
        for j, keys in enumerate(values):
            hot[j, np.array([index[k] for k in keys], np.int64)] = 1.0
        return hot

    # === Saving ===

    def save_assets(self, folder, name):
        if self.kind == "regression":
            state = {} if self.num_values is None else {"regression_dims": self.num_values}
        else:
            state = {} if self.labels is None else {"classes": self.labels}
        return self.get_config(), state

    def load_state(self, state, folder):
        if "classes" in state:
            self.labels = list(state["classes"])
        if "regression_dims" in state:
            self.num_values = state["regression_dims"]

    # === Config ===

    def get_config(self):
        return {"kind": self.kind, "classes": self.classes, "separator": self.separator}

    def __repr__(self):
        return f"LabelSpec(kind={self.kind!r})"
