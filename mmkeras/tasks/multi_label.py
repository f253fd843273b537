"""Multi-label classification."""

import keras

from mmkeras.names import MULTILABEL
from mmkeras.tasks.task import Task


@keras.saving.register_keras_serializable(package="mmkeras")
class MultiLabel(Task):
    """Multi-label classification: any number of `num_labels` labels per sample.

    One sigmoid unit per label, binary cross-entropy on multi-hot float targets `(B, num_labels)`.

    Args:
        num_labels: int >= 1.
        threshold: float in (0, 1), decision threshold for the metrics.
        label_names: optional list of `num_labels` strings.
        **kwargs: `name`, `hidden_units`, `dropout`, `loss_weight` of `Task`.

    Example:
    >>> task = mmkeras.tasks.MultiLabel(num_labels=5)
    """

    kind = MULTILABEL

    def __init__(self, num_labels, threshold=0.5, label_names=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_labels, int) or isinstance(num_labels, bool) or num_labels < 1:
            raise ValueError(
                f"MultiLabel `num_labels` must be an integer >= 1, received {num_labels!r}."
            )
        if not 0.0 < float(threshold) < 1.0:
            raise ValueError(f"MultiLabel `threshold` must be in (0, 1), received {threshold!r}.")
        if label_names is not None:
            label_names = [str(c) for c in label_names]
            if len(label_names) != num_labels:
                raise ValueError(
                    f"MultiLabel `label_names` has {len(label_names)} entries but num_labels={num_labels}."
                )
        self.num_labels = num_labels
        self.threshold = float(threshold)
        self.label_names = label_names

    @property
    def output_units(self):
        return self.num_labels

    @property
    def activation(self):
        return "sigmoid"

    @property
    def loss(self):
        return keras.losses.BinaryCrossentropy()

    def metrics(self):
        return [
            keras.metrics.BinaryAccuracy(name="binary_accuracy", threshold=self.threshold),
            keras.metrics.AUC(name="auc", multi_label=True, num_labels=self.num_labels),
            keras.metrics.F1Score(average="micro", threshold=self.threshold, name="micro_f1"),
        ]

    def get_config(self):
        return {
            **super().get_config(),
            "num_labels": self.num_labels,
            "threshold": self.threshold,
            "label_names": self.label_names,
        }
