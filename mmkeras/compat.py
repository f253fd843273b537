"""Every use of private Keras and TensorFlow API in mmkeras, in one place.

mmkeras is tested against the versions in `TESTED`. Private names can move in any release;
each helper here names what it relies on, and `check_versions` says what to do when the
installed versions are outside the tested range.
"""

import warnings

TESTED = {"tensorflow": ("2.21",), "keras": ("3.15",)}


def _major_minor(version):
    return ".".join(version.split(".")[:2])


def check_versions():
    """Warns once when TensorFlow or Keras is outside the versions mmkeras was tested with."""
    import keras
    import tensorflow as tf

    found = {"tensorflow": tf.__version__, "keras": keras.__version__}
    for name, version in found.items():
        if _major_minor(version) not in TESTED[name]:
            warnings.warn(
                f"mmkeras uses private {name} API tested with {name} "
                f"{' / '.join(TESTED[name])}; {name} {version} is installed. If a call in "
                "mmkeras.compat fails, install a tested version "
                f"(pip install '{name}=={TESTED[name][-1]}.*').",
                stacklevel=2,
            )
    return found


def is_trackable(obj):
    """Whether a SavedModel can track `obj` (a `tf.Module` or any TF trackable).

    Private: `tf.__internal__.tracking.Trackable`, the base of Keras layers and TF resources.
    """
    import tensorflow as tf

    return isinstance(obj, tf.Module | tf.__internal__.tracking.Trackable)


def disable_op_determinism():
    """Turns TensorFlow op determinism off (`tf.config.experimental.enable_op_determinism`).

    Private: `tensorflow.python.framework.config.disable_op_determinism`; TensorFlow exports
    only the switch that turns it on.
    """
    from tensorflow.python.framework import config

    config.disable_op_determinism()
