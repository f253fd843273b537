"""Writing a directory under a temporary name and renaming it into place."""

import errno
import os
import re
import shutil
import socket
import uuid

from mmkeras.errors import DiskFullError, is_disk_full


def _host():
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"


def _side_name(name, kind, token):
    # The host and process id say who owns a temporary folder, so a later export can tell one
    # left behind by a killed process from one that another export is still writing.
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

    Only folders named by this module on this host are considered: the owning process id is in
    the name, and a folder is stale when no process of that id exists. Folders of a live process,
    of another host, or named otherwise are never listed.

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
        # Killed between setting the old export aside and moving the new one in: the old one
        # is the last export known to be complete, so it goes back.
        restored = olds[-1]
        os.replace(restored, path)
    for _, folder in stale:
        if folder != restored:
            shutil.rmtree(folder, ignore_errors=True)


def _disk_full_error(path, error):
    try:
        free = f"{shutil.disk_usage(os.path.dirname(path)).free / 2**20:.1f} MiB free there now"
    except OSError:
        free = "free space unknown"
    keep = "the previous export there is unchanged" if os.path.isdir(path) else "nothing was left"
    return DiskFullError(
        errno.ENOSPC,
        f"export: no space left on device writing {path} ({free}); {keep} and the partial "
        f"export was removed. Free some space or export elsewhere. ({type(error).__name__})",
        path,
    )


def write_directory_atomically(build, path, overwrite=True):
    """Builds a directory with `build(tmp_path)`, then moves it to `path`.

    The new directory is complete before it takes the name `path`; an old directory of that name
    is first renamed aside and deleted only after the new one is in place. A failure while
    building leaves the old directory untouched and removes the temporary one, and readers never
    see a half-written directory. A process killed while building (kill -9) leaves its temporary
    folder behind: the next write to the same `path` removes such folders once their process is
    gone (their names hold host and process id), and puts back an old directory that a kill left
    set aside.

    Args:
        build: callable taking the temporary directory path (which it must create and fill).
        path: the final directory.
        overwrite: replace an existing `path`; if False, an existing `path` raises
            `FileExistsError` before anything is built.

    Returns:
        The absolute final path.

    Raises:
        mmkeras.errors.DiskFullError: the disk (or quota) filled up while building (an
            `OSError` with `errno.ENOSPC`, one line: "export: no space left on device writing
            PATH ..."); whichever error `build` raised (an `OSError`, or TensorFlow's
            `ResourceExhaustedError` "No space left on device") is its `__cause__`.
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
            build(tmp)
        except Exception as e:
            # TensorFlow reports a full disk as `ResourceExhaustedError` "...; No space left on
            # device", Python as `OSError(ENOSPC)`: both become one `DiskFullError` line.
            if not is_disk_full(e):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
            raise _disk_full_error(path, e) from e
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
