"""Checks of command-line arguments shared by the commands."""

import os


def check_manifest_file(path, what):
    """Raises `UsageError` unless `path` is a file, saying whether it is missing or a folder.

    Args:
        path: the argument's value.
        what: how the message names the argument (`"--data"`, `"DATA"`).
    """
    from mmkeras.cli import UsageError

    if os.path.isdir(path):
        raise UsageError(
            f"{what} {path!r} is a folder; give a manifest file (CSV, TSV or JSONL) that lists "
            "the rows"
        )
    if not os.path.isfile(path):
        raise UsageError(f"{what} {path!r} does not exist")
    return path
