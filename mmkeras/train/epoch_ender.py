"""`EpochEnder`: ends the partial first epoch of a resumed run."""

import keras


class EpochEnder(keras.callbacks.Callback):
    """Ends the first epoch of a resumed run after the batches it still had to do.

    Placed first in the callback list: it asks `fit` to stop after batch `end_at - 1` of the
    first epoch, and withdraws the request at that epoch's end (before any other callback
    runs), so `fit` goes on with the next epoch.

    Args:
        end_at: int, number of batches left in the first epoch.
    """

    def __init__(self, end_at):
        super().__init__()
        self.end_at = end_at
        self._ended = False
        self._done = False

    def on_train_batch_end(self, batch, logs=None):
        if not self._done and batch + 1 >= self.end_at:
            self.model.stop_training = True
            self._ended = True
            self._done = True

    def on_epoch_end(self, epoch, logs=None):
        self._done = True
        if self._ended:
            self.model.stop_training = False
            self._ended = False
