"""`ServingHead`: how one task output of a model becomes named serving outputs."""

import tensorflow as tf

_KINDS = ("classification", "binary", "multilabel", "regression")


class ServingHead:
    """Turns one model output into the named outputs of an exported signature.

    - `"classification"` (softmax): `probabilities` `(B, C)` and `label` `(B,)` tf.string, the
      class name of the highest probability.
    - `"binary"` (one sigmoid unit): `probabilities` `(B, 1)` (the model's output, the probability
      of `class_names[1]`) and `label` `(B,)`, `class_names[1]` where it is >= 0.5.
    - `"multilabel"`: `probabilities` `(B, L)` and `labels` `(B,)` tf.string, the names whose
      probability reaches `threshold`, joined by `separator` (empty when none does).
    - `"regression"`: `values` `(B, N)`.

    In a single-task export the outputs carry these names; in a multi-task export each is
    prefixed with the task name (`digit_probabilities`, `digit_label`, ...).

    Args:
        task: str, the model output (task) name.
        kind: `"classification"`, `"binary"`, `"multilabel"` or `"regression"`.
        class_names: list of str (classification kinds), one per model output unit (two for
            `"binary"`); None for regression.
        prefix: str, prepended to the output names (`""` for a single task).
        threshold: float, decision threshold of `"binary"` and `"multilabel"`.
        separator: str, joins the names of a multi-label prediction.

    Example:
    >>> head = ServingHead("label", "classification", ["cat", "dog"])
    >>> head.outputs(tf.constant([[0.2, 0.8]]))["label"].numpy()
    array([b'dog'], dtype=object)
    """

    def __init__(self, task, kind, class_names=None, prefix="", threshold=0.5, separator="|"):
        if kind not in _KINDS:
            raise ValueError(f"ServingHead: `kind` must be one of {_KINDS}, received {kind!r}.")
        if kind != "regression" and not class_names:
            raise ValueError(
                f"ServingHead: a {kind!r} head needs `class_names`, received {class_names!r}."
            )
        if kind == "binary" and len(class_names) != 2:
            raise ValueError(
                f"ServingHead: a binary head needs 2 class names, received {class_names!r}."
            )
        self.task = task
        self.kind = kind
        self.class_names = None if class_names is None else [str(c) for c in class_names]
        self.prefix = prefix
        self.threshold = float(threshold)
        self.separator = separator

    @property
    def output_names(self):
        """Names of the serving outputs of this head, in order."""
        names = {
            "classification": ("probabilities", "label"),
            "binary": ("probabilities", "label"),
            "multilabel": ("probabilities", "labels"),
            "regression": ("values",),
        }[self.kind]
        return [self.prefix + n for n in names]

    def outputs(self, prediction):
        """Maps the model output `prediction` (float `(B, units)`) to `{output name: tensor}`."""
        prediction = tf.cast(prediction, tf.float32)
        p = self.prefix
        if self.kind == "regression":
            return {f"{p}values": prediction}
        names = tf.constant(self.class_names, tf.string)
        if self.kind == "classification":
            label = tf.gather(names, tf.argmax(prediction, axis=-1, output_type=tf.int32))
            return {f"{p}probabilities": prediction, f"{p}label": label}
        if self.kind == "binary":
            label = tf.where(prediction[:, 0] >= self.threshold, names[1], names[0])
            return {f"{p}probabilities": prediction, f"{p}label": label}
        chosen = tf.ragged.boolean_mask(
            tf.broadcast_to(names, tf.shape(prediction)), prediction >= self.threshold
        )
        labels = tf.strings.reduce_join(chosen, axis=-1, separator=self.separator)
        return {f"{p}probabilities": prediction, f"{p}labels": labels}

    def describe(self):
        """A JSON-ready description for the export's metadata."""
        return {
            "task": self.task,
            "kind": self.kind,
            "class_names": self.class_names,
            "threshold": self.threshold,
            "separator": self.separator,
            "outputs": self.output_names,
        }

    @classmethod
    def from_description(cls, description):
        """Rebuilds a head from `describe()` (used by the predictor)."""
        prefix = description["outputs"][0][: -len(_first_name(description["kind"]))]
        return cls(
            description["task"],
            description["kind"],
            description["class_names"],
            prefix=prefix,
            threshold=description["threshold"],
            separator=description["separator"],
        )

    def __repr__(self):
        return f"ServingHead(task={self.task!r}, kind={self.kind!r})"


def _first_name(kind):
    return "values" if kind == "regression" else "probabilities"
