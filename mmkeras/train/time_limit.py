"""`TimeLimit`: stops training when a wall-clock budget is spent."""

import time

import keras

from mmkeras.argument_checks import check_positive_number


class TimeLimit(keras.callbacks.Callback):
    """Stops `fit` at the first batch that ends after `seconds` of training.

    The clock starts at the first `on_train_begin` and keeps running across the `fit` calls of
    a staged run, so the budget is for the whole run. The epoch in progress ends early (its
    validation still runs), and a checkpoint that keeps the best epoch keeps it as usual.

    Args:
        seconds: float, the training budget in seconds (> 0).

    Example:
    >>> limit = mk.train.TimeLimit(60)  # model.fit(..., callbacks=[limit])
    >>> limit.seconds, limit.stopped
    (60.0, False)
    """

    def __init__(self, seconds):
        super().__init__()
        self.seconds = float(check_positive_number("seconds", seconds, "TimeLimit"))
        self.deadline = None
        self.stopped = False

    def on_train_begin(self, logs=None):
        if self.deadline is None:
            self.deadline = time.monotonic() + self.seconds

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() >= self.deadline:
            self.model.stop_training = True
            self.stopped = True
