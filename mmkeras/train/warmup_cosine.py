"""`WarmupCosine`: linear warm-up, then cosine decay."""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mmkeras")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Learning rate rising linearly for `warmup_steps`, then falling along a cosine.

    From step 0 to `warmup_steps` the rate goes linearly from `learning_rate / warmup_steps`
    to `learning_rate`; then it follows half a cosine down to `min_learning_rate` at
    `total_steps`, and stays there.

    Args:
        learning_rate: float > 0, the peak rate.
        total_steps: int > 0, the step at which the decay ends.
        warmup_steps: int >= 0.
        min_learning_rate: float >= 0, the final rate.

    Example:
    >>> schedule = WarmupCosine(1e-3, total_steps=1000, warmup_steps=100)
    >>> [round(float(schedule(step)), 6) for step in (0, 50, 100, 550, 1000)]
    [1e-05, 0.00051, 0.001, 0.0005, 0.0]
    >>> optimizer = keras.optimizers.Adam(learning_rate=schedule)
    """

    def __init__(self, learning_rate, total_steps, warmup_steps=0, min_learning_rate=0.0):
        if not float(learning_rate) > 0:
            raise ValueError(
                f"WarmupCosine `learning_rate` must be > 0, received {learning_rate!r}."
            )
        if not isinstance(total_steps, int) or total_steps < 1:
            raise ValueError(
                f"WarmupCosine `total_steps` must be an integer >= 1, received {total_steps!r}."
            )
        if not isinstance(warmup_steps, int) or not 0 <= warmup_steps <= total_steps:
            raise ValueError(
                "WarmupCosine `warmup_steps` must be an integer in [0, total_steps], "
                f"received {warmup_steps!r} with total_steps={total_steps}."
            )
        if not 0 <= float(min_learning_rate) <= float(learning_rate):
            raise ValueError(
                "WarmupCosine `min_learning_rate` must be in [0, learning_rate], received "
                f"{min_learning_rate!r}."
            )
        self.learning_rate = float(learning_rate)
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps
        self.min_learning_rate = float(min_learning_rate)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak, low = self.learning_rate, self.min_learning_rate
        warmup = float(max(self.warmup_steps, 1))
        warm = peak * ops.minimum(step + 1.0, warmup) / warmup
        decay_steps = float(max(self.total_steps - self.warmup_steps, 1))
        progress = ops.clip((step - self.warmup_steps) / decay_steps, 0.0, 1.0)
        cosine = low + 0.5 * (peak - low) * (1.0 + ops.cos(math.pi * progress))
        if self.warmup_steps == 0:
            return cosine
        return ops.where(step < self.warmup_steps, warm, cosine)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "min_learning_rate": self.min_learning_rate,
        }
