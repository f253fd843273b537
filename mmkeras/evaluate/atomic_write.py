"""Writing result files so that a crash never leaves a half-written file behind."""

import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`; on success it is renamed to `path`.

    The rename is atomic on one file system, so readers see the old file or the new one, never
    a partial one. On an exception the temporary file is removed and `path` is untouched.

    Args:
        path: str or `os.PathLike`, the final destination. Its folder is created if needed.

    Example:
    >>> with atomic_path("out/report.json") as tmp:
    ...     open(tmp, "w").write("{}")
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    os.close(fd)
    # mkstemp creates the file readable by its owner only; give it the usual permissions.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def atomic_write_text(path, text):
    """Writes `text` (UTF-8) to `path` atomically and returns `path` as a string."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    return os.fspath(path)
