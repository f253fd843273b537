"""Task heads: the output layer, loss and default metrics of a prediction target."""

from mmkeras.tasks.classification import Classification
from mmkeras.tasks.multi_label import MultiLabel
from mmkeras.tasks.regression import Regression
from mmkeras.tasks.task import Task

__all__ = ["Task", "Classification", "MultiLabel", "Regression"]
