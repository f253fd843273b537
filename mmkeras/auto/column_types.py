"""What each column of a table holds, and what problem its label poses, inferred from values."""

import math

IMAGE = "image"
AUDIO = "audio"
TEXT = "text"
CATEGORICAL = "categorical"
NUMERIC = "numeric"
IGNORE = "ignore"
COLUMN_TYPES = (IMAGE, AUDIO, TEXT, CATEGORICAL, NUMERIC, IGNORE)

BINARY = "binary"
MULTICLASS = "multiclass"
REGRESSION = "regression"
MULTI_LABEL = "multi_label"
PROBLEM_TYPES = (BINARY, MULTICLASS, REGRESSION, MULTI_LABEL)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
AUDIO_EXTENSIONS = (".wav", ".wave")
LABEL_SEPARATOR = "|"

# A string column is categorical when it has at most this many distinct values and its values
# repeat (distinct values at most half of the filled cells); free text otherwise.
MAX_CATEGORIES = 100


def _filled(values):
    return [v for v in values if v.strip()]


def _number(value):
    try:
        f = float(value)
    except ValueError:
        return None
    return f if math.isfinite(f) else None


def _share(values, test):
    return sum(1 for v in values if test(v)) / len(values)


def infer_column_type(values):
    """The type of one column from its cells (strings, `""` for a gap).

    Rules, in order: no filled cell, or a different value in every row with no space in any
    (an identifier) → `"ignore"`; at least 90% of the filled cells end in an image / audio file
    extension → `"image"` / `"audio"`; every filled cell a finite number → `"numeric"`; at most
    100 distinct values, each repeated on average → `"categorical"`; else `"text"`.

    >>> infer_column_type(["a.png", "b.jpg", ""])
    'image'
    >>> infer_column_type(["1.5", "", "2"])
    'numeric'
    >>> infer_column_type(["red", "blue", "red", "red", ""])
    'categorical'
    >>> infer_column_type(["a red car", "two dogs", "a cat on a mat", "rain"])
    'text'
    """
    filled = _filled(values)
    if not filled:
        return IGNORE
    lower = [v.strip().lower() for v in filled]
    if _share(lower, lambda v: v.endswith(IMAGE_EXTENSIONS)) >= 0.9:
        return IMAGE
    if _share(lower, lambda v: v.endswith(AUDIO_EXTENSIONS)) >= 0.9:
        return AUDIO
    if all(_number(v) is not None for v in filled):
        return NUMERIC
    distinct = len(set(filled))
    if distinct == len(filled) and len(filled) > 1 and not any(" " in v.strip() for v in filled):
        return IGNORE
    if distinct <= MAX_CATEGORIES and distinct <= len(filled) / 2:
        return CATEGORICAL
    return TEXT


def infer_problem_type(values):
    """The problem a label column poses, from its cells.

    `"multi_label"` when some labels list several names joined by `|`; `"regression"` when every
    label is a number and some are fractional or there are more than 20 distinct values;
    `"binary"` for two distinct labels; `"multiclass"` otherwise.

    Raises:
        ValueError: the label column has no filled cell, or a single distinct value.

    >>> infer_problem_type(["3", "7", "3", "1"])
    'multiclass'
    >>> infer_problem_type(["0.5", "1.25", "3"])
    'regression'
    >>> infer_problem_type(["cat|dog", "dog", "bird"])
    'multi_label'
    """
    filled = _filled(values)
    if not filled:
        raise ValueError("Predictor: the label column has no values.")
    if any(LABEL_SEPARATOR in v for v in filled):
        return MULTI_LABEL
    distinct = set(filled)
    numbers = [_number(v) for v in filled]
    if all(n is not None for n in numbers) and (
        any(n != int(n) for n in numbers) or len(distinct) > 20
    ):
        return REGRESSION
    if len(distinct) < 2:
        raise ValueError(
            f"Predictor: the label column has one value only ({filled[0]!r}); "
            "there is nothing to learn."
        )
    return BINARY if len(distinct) == 2 else MULTICLASS


def infer_column_types(frame, label, column_types=None):
    """`{column: type}` for every column of `frame` but `label`; `column_types` overrides.

    Raises:
        ValueError: an override names a column the table lacks, or a type that is not one of
            `COLUMN_TYPES`.
    """
    overrides = dict(column_types or {})
    for column, kind in overrides.items():
        if column not in frame.columns:
            raise ValueError(
                f"Predictor: column_types names {column!r}, which the table lacks; "
                f"columns: {list(frame.columns)}."
            )
        if kind not in COLUMN_TYPES:
            raise ValueError(
                f"Predictor: column_types[{column!r}] is {kind!r}; allowed: {list(COLUMN_TYPES)}."
            )
    return {
        column: overrides.get(column) or infer_column_type(list(frame[column]))
        for column in frame.columns
        if column != label
    }


def describe_columns(frame, label, types, problem_type):
    """A printable summary: one line per column with its type and how many cells are empty."""
    lines = [f"columns ({len(frame)} rows):"]
    width = max(len(c) for c in frame.columns)
    for column in frame.columns:
        gaps = sum(1 for v in frame[column] if not v.strip())
        kind = f"label, {problem_type}" if column == label else types[column]
        extra = f", {gaps} empty" if gaps else ""
        distinct = len(set(frame[column]))
        lines.append(f"  {column:<{width}}  {kind} ({distinct} distinct{extra})")
    return "\n".join(lines)
