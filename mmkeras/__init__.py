"""mmkeras: multimodal deep learning on Keras 3 and TensorFlow.

Submodules are imported on first use so that `import mmkeras` (and the `mmkeras` command line)
starts quickly:

>>> import mmkeras as mk
>>> img = mk.branches.image_cnn(input_shape=(64, 64, 3), output_dim=128)
"""

import importlib

from mmkeras.version import __version__

_SUBMODULES = (
    "branches",
    "config",
    "data",
    "datasets",
    "evaluate",
    "export",
    "layers",
    "models",
    "retrieval",
    "serve",
    "tasks",
    "testing",
    "train",
)

_MODEL_FUNCTIONS = ("build_model", "load_model")

__all__ = ["__version__", *_MODEL_FUNCTIONS, *_SUBMODULES]


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f"mmkeras.{name}")
        globals()[name] = module
        return module
    if name in _MODEL_FUNCTIONS:
        function = getattr(importlib.import_module("mmkeras.models"), name)
        globals()[name] = function
        return function
    raise AttributeError(f"module 'mmkeras' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
