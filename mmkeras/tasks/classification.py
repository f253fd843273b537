"""Single-label classification."""

import keras

from mmkeras.names import CLASSIFICATION
from mmkeras.tasks.task import Task


@keras.saving.register_keras_serializable(package="mmkeras")
class Classification(Task):
    """Single-label classification: one class per sample.

    Multiclass (`num_classes >= 2`, the default) uses a softmax output and sparse categorical
    cross-entropy on integer class indices. `binary=True` (only with `num_classes=2`) uses one
    sigmoid unit and binary cross-entropy on 0/1 targets.

    Args:
        num_classes: int >= 2, number of classes.
        binary: bool, one sigmoid unit instead of a two-way softmax.
        label_smoothing: float in [0, 1).
        class_names: optional list of `num_classes` strings, kept for reports and exports.
        **kwargs: `name`, `hidden_units`, `dropout`, `loss_weight` of `Task`.

    Example:
    >>> task = mmkeras.tasks.Classification(num_classes=10)
    """

    kind = CLASSIFICATION

    def __init__(self, num_classes, binary=False, label_smoothing=0.0, class_names=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 2:
            raise ValueError(
                f"Classification `num_classes` must be an integer >= 2, received {num_classes!r}. "
                "For a yes/no target use num_classes=2 (optionally binary=True)."
            )
        if binary and num_classes != 2:
            raise ValueError(
                f"Classification(binary=True) needs num_classes=2, received num_classes={num_classes}."
            )
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise ValueError(
                f"Classification `label_smoothing` must be in [0, 1), received {label_smoothing!r}."
            )
        if class_names is not None:
            class_names = [str(c) for c in class_names]
            if len(class_names) != num_classes:
                raise ValueError(
                    f"Classification `class_names` has {len(class_names)} entries but "
                    f"num_classes={num_classes}."
                )
        self.num_classes = num_classes
        self.binary = bool(binary)
        self.label_smoothing = float(label_smoothing)
        self.class_names = class_names

    @property
    def output_units(self):
        return 1 if self.binary else self.num_classes

    @property
    def activation(self):
        return "sigmoid" if self.binary else "softmax"

    @property
    def loss(self):
        if self.binary:
            return keras.losses.BinaryCrossentropy(label_smoothing=self.label_smoothing)
        if self.label_smoothing:
            # Sparse categorical cross-entropy has no label smoothing; the dense one with one-hot
            # targets would change the target format, so smoothing is applied in the loss.
            return _SmoothedSparseCategoricalCrossentropy(self.num_classes, self.label_smoothing)
        return keras.losses.SparseCategoricalCrossentropy()

    def metrics(self):
        if self.binary:
            return [keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")]
        metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        if self.num_classes > 5:
            metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(k=3, name="top3_accuracy"))
        return metrics

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "binary": self.binary,
            "label_smoothing": self.label_smoothing,
            "class_names": self.class_names,
        }


@keras.saving.register_keras_serializable(package="mmkeras")
class _SmoothedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Categorical cross-entropy with label smoothing on integer targets."""

    def __init__(
        self,
        num_classes,
        label_smoothing,
        name="smoothed_sparse_categorical_crossentropy",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.num_classes = num_classes
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        y_true = keras.ops.reshape(keras.ops.cast(y_true, "int32"), (-1,))
        one_hot = keras.ops.one_hot(y_true, self.num_classes)
        return keras.losses.categorical_crossentropy(
            one_hot, y_pred, label_smoothing=self.label_smoothing
        )

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "label_smoothing": self.label_smoothing,
        }
