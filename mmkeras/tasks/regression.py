"""Regression."""

import keras

from mmkeras.names import REGRESSION
from mmkeras.tasks.task import Task

_LOSSES = ("mse", "mae", "huber")


@keras.saving.register_keras_serializable(package="mmkeras")
class Regression(Task):
    """Regression of `num_outputs` real values per sample, linear output.

    Args:
        num_outputs: int >= 1.
        loss: one of "mse", "mae", "huber".
        **kwargs: `name`, `hidden_units`, `dropout`, `loss_weight` of `Task`.

    Example:
    >>> task = mmkeras.tasks.Regression(num_outputs=1)
    """

    kind = REGRESSION

    def __init__(self, num_outputs=1, loss="mse", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_outputs, int) or isinstance(num_outputs, bool) or num_outputs < 1:
            raise ValueError(
                f"Regression `num_outputs` must be an integer >= 1, received {num_outputs!r}."
            )
        if loss not in _LOSSES:
            raise ValueError(f"Regression `loss` must be one of {_LOSSES}, received {loss!r}.")
        self.num_outputs = num_outputs
        self.loss_name = loss

    @property
    def output_units(self):
        return self.num_outputs

    @property
    def activation(self):
        return "linear"

    @property
    def loss(self):
        return {
            "mse": keras.losses.MeanSquaredError,
            "mae": keras.losses.MeanAbsoluteError,
            "huber": keras.losses.Huber,
        }[self.loss_name]()

    def metrics(self):
        return [
            keras.metrics.MeanAbsoluteError(name="mae"),
            keras.metrics.RootMeanSquaredError(name="rmse"),
        ]

    def get_config(self):
        return {**super().get_config(), "num_outputs": self.num_outputs, "loss": self.loss_name}
