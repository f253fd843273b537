"""Errors mmkeras raises for faults of the environment, shared by every package.

Imports nothing of mmkeras, Keras or TensorFlow, so any module (and the command line) may use it.
"""

import errno

# errno values that mean the storage is full: no space left, disk quota exceeded.
_FULL = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(OSError):
    """No space was left on the device while mmkeras wrote a file.

    The file being written is removed; the previous version of it (a checkpoint, an export) is
    kept. Free some space and run the same command again: a training run resumes.
    """

    def __str__(self):
        return self.strerror or super().__str__()


def is_disk_full(error):
    """Whether `error` (an exception of any library) says the storage is full.

    h5py and TensorFlow report a full disk in their own exception types, with the errno or the
    C library's words in the message.
    """
    if isinstance(error, DiskFullError):
        return True
    if isinstance(error, OSError) and error.errno in _FULL:
        return True
    text = str(error)
    return "No space left on device" in text or "Disk quota exceeded" in text


def disk_full_error(path, doing="writing", hint="the previous version is kept"):
    """A one-line `DiskFullError` for a full disk met while writing `path`."""
    return DiskFullError(
        errno.ENOSPC, f"no space left on device {doing} {path}; {hint}. Free some space and retry"
    )


class DownloadError(OSError):
    """A file mmkeras downloads on request could not be had: offline, or a failed download.

    Raised before any transfer when downloads are off (`MMKERAS_OFFLINE=1`, `HF_HUB_OFFLINE=1`)
    or the host is unreachable, and after a transfer that failed or does not match its
    published hash (a failed transfer leaves nothing in the cache). The message names the file,
    the cache folder it is expected in, and the other ways to supply it.
    """
