"""`LearningRateLogger`: puts the optimizer's current learning rate into the epoch logs."""

import keras


class LearningRateLogger(keras.callbacks.Callback):
    """Adds `learning_rate` (the value at the end of the epoch) to the logs of every epoch.

    Place it before loggers (`CSVLogger`, `TensorBoard`) so that they record it; with a schedule
    the value is the schedule's at the optimizer's current step.
    """

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        optimizer = self.model.optimizer
        inner = getattr(optimizer, "inner_optimizer", optimizer)
        logs["learning_rate"] = float(keras.ops.convert_to_numpy(inner.learning_rate))
