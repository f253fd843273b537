"""What kind of task an output is, and its targets and scores in the layout the metrics expect.

A task is named by a string (`"classification"`, `"multilabel"`, `"regression"`), by a task object
of `mmkeras.tasks` (`Classification`, `MultiLabel`, `Regression`, whose `kind` attribute says it,
so that this module does not import the model code), or left as `None` and inferred from the data:

- predictions `(N, C)` with `C > 1` and integer targets `(N,)` / `(N, 1)` in `[0, C)`, or one-hot
  targets `(N, C)`: classification;
- predictions `(N, 1)` (or `(N,)`) in `[0, 1]` with 0/1 targets: binary classification;
- multi-hot targets `(N, L)` matching predictions `(N, L)`: multi-label;
- anything else: regression.

Scores outside `[0, 1]` (or classification rows that do not sum to 1) are taken as logits and
turned into probabilities with a softmax (classification) or a sigmoid (binary, multi-label).
"""

import numpy as np

from mmkeras.names import CLASSIFICATION, HEAD_TASK_KINDS, MULTILABEL, REGRESSION

KINDS = HEAD_TASK_KINDS

_ALIASES = {
    "classification": CLASSIFICATION,
    "binary": CLASSIFICATION,
    "multiclass": CLASSIFICATION,
    "multilabel": MULTILABEL,
    "multi_label": MULTILABEL,
    "multi-label": MULTILABEL,
    "regression": REGRESSION,
}


def normalize_task_kind(task):
    """Returns the kind named by `task` (string or task object), or None when `task` is None.

    Raises:
        ValueError: when `task` names no known kind.
    """
    if task is None:
        return None
    if isinstance(task, str):
        kind = _ALIASES.get(task.lower().replace(" ", ""))
    else:
        kind = getattr(task, "kind", None)
        kind = kind if kind in KINDS else None
    if kind is None:
        raise ValueError(
            f"Unknown task {task!r}: expected one of {sorted(_ALIASES)} or a task object "
            "(mmkeras.tasks.Classification, MultiLabel or Regression)."
        )
    return kind


def task_labels(task):
    """The class or label names a task object carries, if any (else None)."""
    for attribute in ("class_names", "labels", "label_names"):
        names = getattr(task, attribute, None)
        if isinstance(names, (list, tuple)) and names:
            return [str(name) for name in names]
    return None


def infer_task_kind(y_true, y_score):
    """Guesses the task kind from targets and predictions (see the module docstring)."""
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=np.float64)
    num_outputs = 1 if y_score.ndim == 1 else int(np.prod(y_score.shape[1:]))
    targets_binary = y_true.size > 0 and np.all((y_true == 0) | (y_true == 1))
    targets_integer = y_true.size > 0 and np.all(np.mod(y_true, 1) == 0)
    if num_outputs == 1:
        scores_in_unit = y_score.size > 0 and y_score.min() >= 0 and y_score.max() <= 1
        return CLASSIFICATION if targets_binary and scores_in_unit else REGRESSION
    per_sample = int(np.prod(y_true.shape[1:])) if y_true.ndim > 1 else 1
    if per_sample == 1:
        in_range = targets_integer and y_true.min() >= 0 and y_true.max() < num_outputs
        return CLASSIFICATION if in_range else REGRESSION
    if per_sample == num_outputs and targets_binary:
        one_hot = np.all(y_true.reshape(len(y_true), -1).sum(axis=1) == 1)
        scores = y_score.reshape(len(y_score), -1)
        sums_to_one = np.allclose(scores.sum(axis=1), 1.0, atol=1e-3)
        return CLASSIFICATION if one_hot and sums_to_one else MULTILABEL
    return REGRESSION


def prepare_classification(y_true, y_score):
    """Returns `(class indices (N,), probabilities (N, C), from_logits)`.

    A single sigmoid output becomes two columns `[1 - p, p]`; one-hot targets become indices.
    """
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=np.float64)
    y_score = y_score.reshape(len(y_score), -1)
    from_logits = False
    if y_score.shape[1] == 1:
        if y_score.size and (y_score.min() < 0 or y_score.max() > 1):
            y_score, from_logits = 1.0 / (1.0 + np.exp(-y_score)), True
        y_score = np.concatenate([1.0 - y_score, y_score], axis=1)
    elif y_score.size and (
        y_score.min() < 0
        or y_score.max() > 1
        or not np.allclose(y_score.sum(axis=1), 1.0, atol=1e-3)
    ):
        shifted = np.exp(y_score - y_score.max(axis=1, keepdims=True))
        y_score, from_logits = shifted / shifted.sum(axis=1, keepdims=True), True
    if y_true.ndim > 1 and y_true.reshape(len(y_true), -1).shape[1] == y_score.shape[1] > 1:
        y_true = np.argmax(y_true.reshape(len(y_true), -1), axis=1)
    y_true = y_true.reshape(-1)
    if y_true.size and np.any(np.mod(y_true, 1) != 0):
        raise ValueError(
            "Classification targets must be integer class indices (or one-hot), received "
            f"non-integer values such as {y_true[np.mod(y_true, 1) != 0][0]!r}."
        )
    return y_true.astype(np.int64), y_score, from_logits


def prepare_multilabel(y_true, y_score):
    """Returns `(multi-hot targets (N, L), probabilities (N, L), from_logits)`."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_score = np.asarray(y_score, dtype=np.float64)
    y_true = y_true.reshape(len(y_true), -1)
    y_score = y_score.reshape(len(y_score), -1)
    from_logits = bool(y_score.size and (y_score.min() < 0 or y_score.max() > 1))
    if from_logits:
        y_score = 1.0 / (1.0 + np.exp(-y_score))
    return y_true, y_score, from_logits
