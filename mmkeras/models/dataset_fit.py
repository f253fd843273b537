"""`DatasetFitMixin`: `fit` on a `tf.data.Dataset` without Keras's `shuffle` warning."""

import sys


def _is_tf_dataset(x):
    # Model code imports no TensorFlow: a dataset can only exist where TensorFlow is loaded.
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(x, tf.data.Dataset)


class DatasetFitMixin:
    """Makes `shuffle` default to False when `fit` reads a `tf.data.Dataset`.

    Keras (3.15) defaults `fit(shuffle=True)` and then warns, on every call with a dataset, that
    it ignores it: a dataset shuffles itself (mmkeras pipelines do, with `shuffle=True` and a
    seed). Arrays are still shuffled by default, and an explicit `shuffle` is passed on as given.
    """

    def fit(self, *args, **kwargs):
        x = args[0] if args else kwargs.get("x")
        # `shuffle` is the ninth positional argument of `fit`.
        if "shuffle" not in kwargs and len(args) < 9 and _is_tf_dataset(x):
            kwargs["shuffle"] = False
        return super().fit(*args, **kwargs)
