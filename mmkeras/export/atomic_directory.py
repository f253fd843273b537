"""Writing a directory under a temporary name and renaming it into place."""

import os
import shutil
import uuid


def write_directory_atomically(build, path, overwrite=True):
    """Builds a directory with `build(tmp_path)`, then moves it to `path`.

    The new directory is complete before it takes the name `path`; an old directory of that name
    is first renamed aside and deleted only after the new one is in place. A failure (or a kill)
    while building leaves the old directory untouched, and readers never see a half-written one.

    Args:
        build: callable taking the temporary directory path (which it must create and fill).
        path: the final directory.
        overwrite: replace an existing `path`; if False, an existing `path` raises
            `FileExistsError` before anything is built.

    Returns:
        The absolute final path.
    """
    path = os.path.abspath(os.fspath(path)).rstrip(os.sep)
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it.")
    if os.path.exists(path) and not os.path.isdir(path):
        raise NotADirectoryError(f"{path} exists and is not a directory; refusing to replace it.")
    parent, name = os.path.split(path)
    os.makedirs(parent, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    tmp = os.path.join(parent, f".{name}.tmp-{token}")
    old = os.path.join(parent, f".{name}.old-{token}")
    try:
        build(tmp)
        if os.path.exists(path):
            os.replace(path, old)
        try:
            os.replace(tmp, path)
        except OSError:
            if os.path.exists(old) and not os.path.exists(path):
                os.replace(old, path)
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return path
