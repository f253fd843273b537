"""`.keras` files: `load_model`, and `check_keras_file`, a clear error for a path that cannot be a model."""

import os
import zipfile


def check_keras_file(path):
    """Raises a clear error unless `path` is a complete `.keras` file.

    Keras reports a missing file, a folder and a damaged file alike ("File not found"); a
    truncated file (a copy cut short, a full disk) deserves its own words.

    Args:
        path: path of the `.keras` file.

    Returns:
        The path, as a string.

    Raises:
        FileNotFoundError: nothing exists at `path`.
        IsADirectoryError: `path` is a folder.
        ValueError: the file is not a complete `.keras` (zip) archive.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such .keras file")
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"{path} is a folder, not a .keras file (a run directory holds its model in "
            "model.keras)"
        )
    size = os.path.getsize(path)
    problem = None
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = {"config.json", "metadata.json"} - names
            if missing:
                problem = f"it lacks {', '.join(sorted(missing))}"
    except zipfile.BadZipFile as e:
        problem = f"{e}"
    if problem is not None:
        raise ValueError(
            f"{path} is not a complete .keras file ({size} bytes; {problem}): it was probably cut "
            "short (a crash, a full disk, an interrupted copy); save or copy it again"
        )
    return path


def load_model(path, safe_mode=True, **kwargs):
    """Loads a `.keras` file saved from an mmkeras model (`safe_mode=True` by default).

    Importing `mmkeras.models` registers every mmkeras layer, task and model class with Keras;
    plain `keras.saving.load_model` works too once it has been imported.

    Args:
        path: path of the `.keras` file.
        safe_mode: bool, refuse to deserialize arbitrary code (mmkeras models need none).
        **kwargs: passed on to `keras.saving.load_model` (`compile`, `custom_objects`).

    Raises:
        FileNotFoundError, IsADirectoryError: no file at `path`.
        ValueError: the file is not a complete `.keras` archive (truncated or damaged).
    """
    import keras

    import mmkeras.models  # noqa: F401 - registers the layers, tasks and models

    return keras.saving.load_model(check_keras_file(path), safe_mode=safe_mode, **kwargs)
