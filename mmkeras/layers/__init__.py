"""Keras layers of mmkeras: fusion layers, the modeling layers the branches use, the BERT,
captioning and speech-encoder layers.

Every layer is registered for `.keras` serialization under the package name `mmkeras`; importing
this package imports (and so registers) all of them.
"""

from mmkeras._lazy import attach

_SUBPACKAGES = ("bert", "captioning", "fusion", "modeling", "speech")


def _exports():
    import importlib

    exports = {}
    for name in _SUBPACKAGES:
        subpackage = importlib.import_module(f"mmkeras.layers.{name}")
        exports.update({key: subpackage.__name__ for key in subpackage.__all__})
    return exports


_EXPORTS = _exports()

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS, eager=True)
