"""The `mmkeras` command line: `mmkeras <command> --help` for each command.

Commands live in modules of this package, one per command, each with `HELP` (one line),
`add_arguments(parser)` and `run(args) -> exit code`. Adding a command is one line in
`COMMANDS`. Modules import TensorFlow only inside `run`, so `mmkeras --help` is fast.

Exit codes: 0 success, 1 failure, 2 usage or configuration error.
"""

import argparse
import importlib
import os
import re
import sys
import traceback
import warnings

from mmkeras.version import __version__

COMMANDS = {
    "train": "mmkeras.cli.train",
    "fit": "mmkeras.cli.fit",
    "evaluate": "mmkeras.cli.evaluate",
    "predict": "mmkeras.cli.predict",
    "validate": "mmkeras.cli.validate",
    "doctor": "mmkeras.cli.doctor",
    "export": "mmkeras.cli.export",
    "demo": "mmkeras.cli.demo",
    "launch-local": "mmkeras.cli.launch_local",
    "serve": "mmkeras.cli.serve",
}

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A command used wrongly (a missing file, a bad option value): exit code 2."""


def _parser(commands):
    parser = argparse.ArgumentParser(
        prog="mmkeras",
        description="Multimodal deep learning on Keras 3 and TensorFlow.",
        epilog="Run `mmkeras <command> --help` for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"mmkeras {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for name, module in commands.items():
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        command.add_argument(
            "--debug", action="store_true", help="show the full traceback of an error"
        )
        module.add_arguments(command)
        command.set_defaults(_module=module)
    return parser


def _user_error_types():
    from mmkeras.errors import DiskFullError, DownloadError

    types = [UsageError, FileNotFoundError, NotADirectoryError, IsADirectoryError, ValueError]
    types += [DiskFullError, DownloadError]
    data = sys.modules.get("mmkeras.data.data_validation_error")
    if data is not None:
        types.append(data.DataValidationError)
    lock = sys.modules.get("mmkeras.train.run_lock")
    if lock is not None:
        types.append(lock.RunLockedError)
    return tuple(types)


def main(argv=None):
    """Runs the `mmkeras` command line and returns its exit code.

    Args:
        argv: list of arguments (default: `sys.argv[1:]`).

    Example:
    >>> main(["doctor"])  # what `mmkeras doctor` prints, then its exit code
    mmkeras doctor (Python ...)
    ...
    0
    """
    commands = {name: importlib.import_module(path) for name, path in COMMANDS.items()}
    parser = _parser(commands)
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    warnings.formatwarning = _format_warning
    from mmkeras.config import ConfigError

    try:
        return int(args._module.run(args) or 0)
    except KeyboardInterrupt:
        print("mmkeras: interrupted", file=sys.stderr)
        return 130
    except (ConfigError, UsageError) as e:
        _report(e, args.debug)
        return EXIT_USAGE
    except _user_error_types() as e:
        _report(e, args.debug)
        return EXIT_FAILURE
    except Exception as e:  # noqa: BLE001 - the last line of defence: report, never crash
        _report(e, args.debug or not _is_data_op_error(e))
        return EXIT_FAILURE


# Library messages name Python arguments; on the command line the same setting has other words.
_CLI_WORDS = (
    (
        "Pass errors='skip' to drop them, or see pipe.validate(...) for all of them.",
        "Set `data.errors: skip` in the configuration (`--errors skip` for evaluate) to drop "
        "them, or run `mmkeras validate` to list them all.",
    ),
    (
        "Pass errors='skip' to drop such rows.",
        "Set `data.errors: skip` in the configuration (`--errors skip` for evaluate) to drop "
        "such rows.",
    ),
    ("(`mmkeras train --restart`, `fit(..., restart=True)`)", "(`--restart`)"),
    ("(`mmkeras train --restart` or `fit(..., restart=True)` trains it afresh)", "(`--restart`)"),
)


def _message(error):
    """The error's message in command-line words, without TensorFlow's graph-node noise."""
    tf_errors = getattr(sys.modules.get("tensorflow"), "errors", None)
    if tf_errors is not None and isinstance(error, tf_errors.OpError):
        text = error.message
        text = re.sub(r"\s*\[\[\{\{node [^\]]*\]\]", "", text)
        text = re.sub(r"\s*\[Op:[^\]]*\]", "", text).strip()
    else:
        text = str(error)
    for python, cli in _CLI_WORDS:
        text = text.replace(python, cli)
    return text


def _is_data_op_error(error):
    # An op that failed on the data (a file deleted mid-run, damaged bytes): the message
    # says what, and a traceback into TensorFlow adds nothing.
    tf_errors = getattr(sys.modules.get("tensorflow"), "errors", None)
    return tf_errors is not None and isinstance(
        error, tf_errors.InvalidArgumentError | tf_errors.NotFoundError | tf_errors.DataLossError
    )


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_default_format_warning = warnings.formatwarning


def _format_warning(message, category, filename, lineno, line=None):
    """mmkeras's own warnings as one line for a command-line user; others as Python shows them."""
    if os.path.abspath(filename).startswith(_PACKAGE_DIR + os.sep):
        return f"mmkeras: warning: {message}\n"
    return _default_format_warning(message, category, filename, lineno, line)


def _report(error, debug):
    if debug:
        traceback.print_exception(error, file=sys.stderr)
    else:
        print(f"mmkeras: error: {_message(error)}", file=sys.stderr)
        print("(run with --debug for the traceback)", file=sys.stderr)
