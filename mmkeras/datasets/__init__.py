"""Bundled demo data and loaders.

`load_av_digits()` returns AV-Digits, a ten-class digit task seen as a handwritten image, a
spoken clip and a text clue, where each modality alone is ambiguous and the three together are
not. Importing this package is cheap: files are read only when asked for.
"""

from mmkeras._lazy import attach

_EXPORTS = {
    "AVDigits": "mmkeras.datasets.av_digits",
    "load_av_digits": "mmkeras.datasets.av_digits",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
