"""`ExportDiskFullError`: the disk filled up while an export was written."""

import errno


class ExportDiskFullError(OSError):
    """Raised when writing an export runs out of disk space (or quota).

    By the time it is raised the partial export has been removed and a previous export at the
    same path is unchanged. `errno` is `ENOSPC`; `filename` is the export path.

    Args:
        message: str, one line: what was being written, where, and how much space is free.
        path: str, the export directory.
    """

    def __init__(self, message, path):
        super().__init__(errno.ENOSPC, message, path)
        self.message = message
        self.path = path

    def __str__(self):
        return self.message

    def __reduce__(self):
        return (type(self), (self.message, self.path))
