"""mmkeras: multimodal deep learning on Keras 3 and TensorFlow.

Submodules are imported on first use so that `import mmkeras` (and the `mmkeras` command line)
starts quickly:

>>> import mmkeras as mk
>>> image_branch = mk.branches.image_cnn(input_shape=(64, 64, 3), output_dim=128)
>>> print(image_branch.output.shape)
(None, 128)
"""

from mmkeras._lazy import attach

_EXPORTS = {
    "Predictor": "mmkeras.auto.predictor",
    "__version__": "mmkeras.version",
    "auto": None,
    "branches": None,
    "build_model": "mmkeras.models",
    "config": None,
    "data": None,
    "datasets": None,
    "evaluate": None,
    "export": None,
    "layers": None,
    "load_model": "mmkeras.models",
    "models": None,
    "pretrained": None,
    "retrieval": None,
    "serve": None,
    "tasks": None,
    "testing": None,
    "train": None,
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
