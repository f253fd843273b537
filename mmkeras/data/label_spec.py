"""`LabelSpec`: one target (task) read from a manifest column."""

from mmkeras.argument_checks import check_choice

_KINDS = ("classification", "multilabel", "regression")


class LabelSpec:
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
    >>> pipe = Pipeline(schema={"image": "path", "digit": "digit", "tags": "tags"},
    ...                 image=ImageSpec(size=(32, 32)),
    ...                 targets={"digit": LabelSpec(), "tags": LabelSpec(kind="multilabel")})
    """

    modality = "target"

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

    def get_config(self):
        return {"kind": self.kind, "classes": self.classes, "separator": self.separator}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"LabelSpec(kind={self.kind!r})"
