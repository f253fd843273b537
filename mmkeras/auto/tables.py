"""Tables in, manifests out: what the `Predictor` reads, as strings, with file paths resolved."""

import os

import numpy as np

from mmkeras.atomic_files import atomic_path


def read_table(data, what):
    """A table as a pandas DataFrame of strings (`""` for a gap) and the folder its paths are in.

    Args:
        data: a CSV path or a pandas DataFrame. Relative file paths in the cells of a CSV are
            relative to its folder; in a DataFrame, to the working directory.
        what: str, how the table is called in messages (`"train"`, `"tuning_data"`, ...).

    Returns:
        `(frame, base_dir)`.

    Raises:
        ValueError: `data` is neither, the file is missing, or the table has no rows.
    """
    import pandas as pd

    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        if not os.path.isfile(path):
            raise ValueError(f"Predictor: {what} {path!r} is not a file (a CSV or a DataFrame).")
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, sep=None, engine="python")
        except (pd.errors.ParserError, UnicodeDecodeError) as e:
            raise ValueError(f"Predictor: {what} {path!r} cannot be read as CSV: {e}") from None
        base_dir = os.path.dirname(os.path.abspath(path))
    elif isinstance(data, pd.DataFrame):
        frame = data.map(_as_text)
        base_dir = os.getcwd()
    else:
        raise ValueError(
            f"Predictor: {what} must be a CSV path or a pandas DataFrame, "
            f"received {type(data).__name__}."
        )
    frame.columns = [str(c) for c in frame.columns]
    if len(frame) == 0:
        raise ValueError(f"Predictor: {what} has no rows.")
    return frame, base_dir


def _as_text(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return ""
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    if isinstance(value, (list, tuple)):
        return "|".join(str(v) for v in value)
    return str(value)


def absolute_path(value, base_dir):
    """A file path from a cell made absolute against `base_dir` (an empty cell stays empty)."""
    return value if not value.strip() or os.path.isabs(value) else os.path.join(base_dir, value)


def absolute_paths(frame, base_dir, columns):
    """A copy of `frame` whose file paths in `columns` are absolute (relative to `base_dir`)."""
    frame = frame.copy()
    for column in columns:
        frame[column] = [absolute_path(v, base_dir) for v in frame[column]]
    return frame


def write_manifest(frame, base_dir, path_columns, path):
    """Writes `frame` as a CSV manifest at `path`, file paths made absolute against `base_dir`.

    Returns:
        `path`.
    """
    frame = absolute_paths(frame, base_dir, path_columns)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return path


def check_columns(frame, columns, what):
    """Raises a `ValueError` naming the `columns` that `frame` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"Predictor: {what} lacks the columns {missing} the model reads; "
            f"it has {list(frame.columns)}."
        )
