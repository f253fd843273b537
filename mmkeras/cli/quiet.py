"""Importing TensorFlow without its start-up noise on stderr."""

import contextlib
import os
import sys


@contextlib.contextmanager
def silenced_stderr():
    """Points file descriptor 2 at /dev/null inside the block, then restores it.

    TensorFlow's C++ start-up lines ("All log messages before absl::InitializeLog()", CUDA stub
    messages) are written straight to the file descriptor, which `TF_CPP_MIN_LOG_LEVEL` does not
    silence on every build. Only the import is silenced, so later errors still show.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    """Imports TensorFlow and Keras quietly and returns the `tensorflow` module."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return sys.modules["tensorflow"]
    with silenced_stderr():
        import keras  # noqa: F401
        import tensorflow as tf

        # The first device query prints CUDA driver probes on machines without a GPU.
        tf.config.list_physical_devices()
    return tf
