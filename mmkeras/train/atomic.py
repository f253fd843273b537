"""Atomic file writes: write to a temporary name in the same folder, then rename."""

import contextlib
import os
import shutil

from mmkeras.errors import disk_full_error, is_disk_full


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`; on success renames it to `path`.

    A crash (or kill) while writing leaves the previous `path` untouched: a reader sees the old
    file or the new one, never a half-written file. The temporary name keeps the extension,
    since Keras picks the file format from it.

    Example:
    >>> with atomic_path("run/model.keras") as tmp:
    ...     model.save(tmp)
    """
    path = os.fspath(path)
    folder, name = os.path.split(path)
    stem, ext = os.path.splitext(name)
    if name.endswith(".weights.h5"):
        stem, ext = name[: -len(".weights.h5")], ".weights.h5"
    tmp = os.path.join(folder, f".{stem}.tmp-{os.getpid()}{ext}")
    try:
        yield tmp
        os.replace(tmp, path)
    except Exception as e:
        if is_disk_full(e):
            raise disk_full_error(path) from None
        raise
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        elif os.path.exists(tmp):
            os.remove(tmp)


def write_text(path, text):
    """Writes `text` to `path` atomically (UTF-8, flushed to disk before the rename)."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


def replace_dir(build, path):
    """Builds a directory with `build(tmp_dir)` and moves it to `path`, replacing any old one."""
    path = os.fspath(path).rstrip(os.sep)
    tmp = f"{path}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        build(tmp)
    except Exception as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if is_disk_full(e):
            raise disk_full_error(path) from None
        raise
    old = f"{path}.old-{os.getpid()}"
    if os.path.exists(path):
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
