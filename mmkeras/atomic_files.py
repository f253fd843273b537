"""Writing files and directories atomically: under a temporary name, then renamed into place.

A crash (or kill) while writing leaves the previous file or directory untouched: a reader sees
the old version or the new one, never a half-written one. A full disk becomes one
`mmkeras.errors.DiskFullError` line. Imports nothing of Keras or TensorFlow.
"""

import contextlib
import csv
import errno
import io
import json
import os
import re
import shutil
import socket
import sys
import uuid

from mmkeras.errors import DiskFullError, disk_full_error, is_disk_full

# Extensions of more than one part that a temporary name must keep (Keras picks the file format
# from the extension).
_DOUBLE_EXTENSIONS = (".weights.h5",)


def _temporary_name(name):
    for ext in _DOUBLE_EXTENSIONS:
        if name.endswith(ext):
            stem = name[: -len(ext)]
            break
    else:
        stem, ext = os.path.splitext(name)
    return f".{stem}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}{ext}"


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`; on success it is renamed to `path`.

    The temporary name lies in the same folder (so the rename is atomic), keeps the extension
    (Keras picks the file format from it) and contains `.tmp-`. On an exception the temporary
    file (or folder) is removed and `path` is untouched; a full disk is raised as
    `mmkeras.errors.DiskFullError` ("no space left on device writing PATH; ...").

    Args:
        path: str or `os.PathLike`, the final destination. Its folder is created if needed.

    Example:
    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> with atomic_path(target) as tmp:
    ...     with open(tmp, "w") as f:
    ...         _ = f.write("done")
    >>> open(target).read()
    'done'
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, _temporary_name(name))
    try:
        yield tmp
        os.replace(tmp, path)
    except Exception as e:
        if is_disk_full(e) and not isinstance(e, DiskFullError):
            raise disk_full_error(path) from None
        raise
    finally:
        if os.path.lexists(tmp):
            _remove(tmp)


def write_text(path, text):
    """Writes `text` (UTF-8, exactly as given) to `path` atomically.

    The file is flushed to disk before the rename.

    Args:
        path: str or `os.PathLike`, the final file.
        text: str, the whole content.

    Returns:
        `path` as a string.
    """
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    return os.fspath(path)


def write_csv(path, header, rows):
    """Writes a CSV of `header` and `rows` to `path` atomically, or to standard output when
    `path` is None (a command's table of results).

    Returns:
        `path` as a string, or None.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    if path is None:
        sys.stdout.write(buffer.getvalue())
        return None
    return write_text(path, buffer.getvalue())


def write_json(path, obj, **json_kwargs):
    """Writes `obj` as JSON to `path` atomically (`json_kwargs` go to `json.dumps`).

    Returns:
        `path` as a string.
    """
    return write_text(path, json.dumps(obj, **json_kwargs))


# === Directories ===
def _host():
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"


def _side_name(name, kind, token):
    # The host and process id say who owns a temporary folder, so a later write can tell one
    # left behind by a killed process from one that another process is still writing.
    return f".{name}.{kind}-{_host()}-{os.getpid()}-{token}"


def _process_alive(pid):
    if os.name == "nt":
        return True  # `os.kill(pid, 0)` would terminate the process there: never guess.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    return True


def stale_side_folders(path):
    """Temporary (`.NAME.tmp-*`) and set-aside (`.NAME.old-*`) folders of `path` whose writer is gone.

    Only folders named by `atomic_directory` on this host are considered: the owning process id
    is in the name, and a folder is stale when no process of that id exists. Folders of a live
    process, of another host, or named otherwise are never listed.

    Args:
        path: the final directory (absolute).

    Returns:
        List of `(kind, folder path)`, kind `"tmp"` or `"old"`, oldest first.
    """
    parent, name = os.path.split(path)
    pattern = re.compile(
        rf"^\.{re.escape(name)}\.(tmp|old)-(?P<host>[A-Za-z0-9._]+)-(?P<pid>\d+)-[0-9a-f]{{8}}$"
    )
    host = _host()
    found = []
    try:
        entries = os.listdir(parent)
    except OSError:
        return []
    for entry in entries:
        match = pattern.match(entry)
        if match is None or match.group("host") != host:
            continue
        if _process_alive(int(match.group("pid"))):
            continue
        folder = os.path.join(parent, entry)
        if os.path.isdir(folder) and not os.path.islink(folder):
            found.append((os.path.getmtime(folder), match.group(1), folder))
    return [(kind, folder) for _, kind, folder in sorted(found)]


def _clean_stale(path):
    stale = stale_side_folders(path)
    olds = [folder for kind, folder in stale if kind == "old"]
    restored = None
    if olds and not os.path.exists(path):
        # Killed between setting the old directory aside and moving the new one in: the old
        # one is the last version known to be complete, so it goes back.
        restored = olds[-1]
        os.replace(restored, path)
    for _, folder in stale:
        if folder != restored:
            shutil.rmtree(folder, ignore_errors=True)


def _directory_full_error(path, error, what):
    try:
        free = f"{shutil.disk_usage(os.path.dirname(path)).free / 2**20:.1f} MiB free there now"
    except OSError:
        free = "free space unknown"
    keep = f"the previous {what} there is unchanged" if os.path.isdir(path) else "nothing was left"
    return DiskFullError(
        errno.ENOSPC,
        f"{what}: no space left on device writing {path} ({free}); {keep} and the partial "
        f"{what} was removed. Free some space or write it elsewhere. ({type(error).__name__})",
        path,
    )


@contextlib.contextmanager
def atomic_directory(path, overwrite=True, what="directory"):
    """Yields a temporary directory path beside `path`; on success it replaces `path`.

    The body creates and fills the yielded folder. The new directory is complete before it
    takes the name `path`; an old directory of that name is first renamed aside and deleted only
    after the new one is in place. A failure leaves the old directory untouched and removes the
    temporary one, and readers never see a half-written directory. A process killed while
    writing (kill -9) leaves its temporary folder behind: the next write to the same `path`
    removes such folders once their process is gone (their names hold host and process id), and
    puts back an old directory that a kill left set aside.

    Args:
        path: str or `os.PathLike`, the final directory.
        overwrite: replace an existing `path`; if False, an existing `path` raises
            `FileExistsError` before anything is written.
        what: str, what the directory is (`"export"`), used in the disk-full message.

    Yields:
        The absolute temporary path (not yet created).

    Raises:
        mmkeras.errors.DiskFullError: the disk (or quota) filled up while writing (one line:
            "WHAT: no space left on device writing PATH ..."); the error the body raised (an
            `OSError`, or TensorFlow's `ResourceExhaustedError` "No space left on device") is
            its `__cause__`.

    Example:
    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "records")
    >>> with atomic_directory(target) as tmp:
    ...     os.makedirs(tmp)
    >>> os.path.isdir(target)
    True
    """
    path = os.path.abspath(os.fspath(path)).rstrip(os.sep)
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it.")
    if os.path.exists(path) and not os.path.isdir(path):
        raise NotADirectoryError(f"{path} exists and is not a directory; refusing to replace it.")
    parent, name = os.path.split(path)
    os.makedirs(parent, exist_ok=True)
    _clean_stale(path)
    token = uuid.uuid4().hex[:8]
    tmp = os.path.join(parent, _side_name(name, "tmp", token))
    old = os.path.join(parent, _side_name(name, "old", token))
    try:
        try:
            yield tmp
        except Exception as e:
            # TensorFlow reports a full disk as `ResourceExhaustedError` "...; No space left on
            # device", Python as `OSError(ENOSPC)`: both become one `DiskFullError` line.
            if not is_disk_full(e):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
            raise _directory_full_error(path, e, what) from e
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


def write_directory_atomically(build, path, overwrite=True, what="export"):
    """Builds a directory with `build(tmp_path)`, then moves it to `path` (see `atomic_directory`).

    Args:
        build: callable taking the temporary directory path (which it must create and fill).
        path: the final directory.
        overwrite: replace an existing `path`; if False, an existing `path` raises
            `FileExistsError` before anything is built.
        what: str, what the directory is, used in the disk-full message.

    Returns:
        The absolute final path.
    """
    with atomic_directory(path, overwrite=overwrite, what=what) as tmp:
        build(tmp)
    return os.path.abspath(os.fspath(path)).rstrip(os.sep)
