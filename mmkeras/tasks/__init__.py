"""Task heads: the output layer, loss and default metrics of a prediction target."""

from mmkeras._lazy import attach

_EXPORTS = {
    "Classification": "mmkeras.tasks.classification",
    "MultiLabel": "mmkeras.tasks.multi_label",
    "Regression": "mmkeras.tasks.regression",
    "Task": "mmkeras.tasks.task",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS, eager=True)
