"""`RunLock`: one training process per run directory at a time."""

import contextlib
import json
import os
import socket
import time


class RunLockedError(RuntimeError):
    """Another process is training the same run."""


class RunLock:
    """An exclusive lock on a run, held while a process trains it.

    The lock is an advisory `flock` on `.NAME.lock` beside the run directory (beside, not
    inside, so that `--restart` may delete the directory while holding it). The operating
    system releases it when the holding process ends in any way, `kill -9` included, so a
    crashed run never stays locked. The file records who holds the lock, for the message the
    second process prints.

    Args:
        run_dir: the run directory (it need not exist yet).

    Example:
    >>> with RunLock("runs/digits"):
    ...     with RunLock("runs/digits"):  # a second trainer of the same run
    ...         pass
    Traceback (most recent call last):
    ...
    mmkeras.train.run_lock.RunLockedError: ...
    """

    def __init__(self, run_dir):
        run_dir = os.path.abspath(os.fspath(run_dir)).rstrip(os.sep)
        parent, name = os.path.split(run_dir)
        self.run_dir = run_dir
        self.path = os.path.join(parent, f".{name}.lock")
        self._fd = None

    def acquire(self):
        import fcntl

        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise RunLockedError(
                f"the run {self.run_dir} is being trained by another process{holder}; wait "
                "for it to finish, or train under another name (`--name`)"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return self

    def release(self):
        if self._fd is None:
            return
        import fcntl

        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def _read_holder(fd):
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        return ""
    if "pid" not in info:
        return ""
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("since", 0)))
    return f" (pid {info['pid']} on {info.get('host', '?')}, since {since})"
