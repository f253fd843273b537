"""The training sections: optimizer, schedule, callbacks, `model.fit`, stages, distillation."""

from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from mmkeras.config.section import Section
from mmkeras.names import STRATEGIES


class OptimizerConfig(Section):
    """The optimizer and gradient clipping."""

    name: Literal["adam", "adamw", "sgd", "rmsprop"] = "adam"
    learning_rate: float = Field(1e-3, gt=0)
    weight_decay: float | None = Field(None, ge=0)
    momentum: float = Field(0.0, ge=0, lt=1)
    clipnorm: float | None = Field(None, gt=0)
    clipvalue: float | None = Field(None, gt=0)
    global_clipnorm: float | None = Field(None, gt=0)


class ScheduleConfig(Section):
    """The learning-rate schedule.

    `constant`; `cosine` (linear warm-up over `warmup_epochs`, then cosine decay to
    `min_learning_rate` at the last step); `plateau` (multiply by `factor` when `monitor` has not
    improved for `patience` epochs).
    """

    name: Literal["constant", "cosine", "plateau"] = "constant"
    warmup_epochs: float = Field(0.0, ge=0)
    min_learning_rate: float = Field(0.0, ge=0)
    factor: float = Field(0.5, gt=0, lt=1)
    patience: int = Field(2, ge=0)
    monitor: str = "val_loss"


class EarlyStoppingConfig(Section):
    """Arguments of `keras.callbacks.EarlyStopping`."""

    monitor: str = "val_loss"
    patience: int = Field(3, ge=0)
    min_delta: float = Field(0.0, ge=0)
    mode: Literal["auto", "min", "max"] = "auto"
    restore_best_weights: bool = False


class CheckpointConfig(Section):
    """The best-model checkpoint (`best.keras`); `last.keras` is written every epoch.

    `keep` picks the weights of the run's `model.keras` (which evaluate, predict and export
    use): `best`, those of the epoch with the best `monitor` value; `final`, those of the
    last epoch.
    """

    monitor: str = "val_loss"
    mode: Literal["auto", "min", "max"] = "auto"
    keep: Literal["best", "final"] = "best"


class BackupConfig(Section):
    """The resume backup: every epoch, and every `every_steps` training steps when set."""

    every_steps: int | None = Field(None, gt=0)


class CallbacksConfig(Section):
    """Callbacks of the run."""

    early_stopping: EarlyStoppingConfig | None = None
    checkpoint: CheckpointConfig = Field(default_factory=CheckpointConfig)
    backup: BackupConfig = Field(default_factory=BackupConfig)
    # `auto`: TensorBoard logs when the `tensorboard` package is installed (it is optional).
    tensorboard: bool | Literal["auto"] = "auto"
    csv_log: bool = True


class TrainConfig(Section):
    """How `model.fit` runs."""

    epochs: int = Field(10, gt=0)
    class_weight: Literal["balanced"] | dict[str, float] | None = None
    mixed_precision: Literal["off", "auto", "mixed_float16", "mixed_bfloat16"] = "off"
    xla: bool = False
    strategy: Literal[STRATEGIES] = "auto"  # type: ignore[valid-type]
    steps_per_execution: int = Field(1, gt=0)
    # Seconds of training after which `fit` stops (the best epoch is kept as usual); None: no limit.
    time_limit: float | None = Field(None, gt=0)
    # `auto`: a progress bar (1) on an interactive terminal, one line per epoch (2) elsewhere.
    verbose: Literal[0, 1, 2, "auto"] = "auto"


class StageConfig(Section):
    """One fine-tuning stage.

    `trainable` says what of the pretrained branches trains in this stage: `none` (frozen),
    `all`, or an integer k (the top k layers / blocks).
    """

    epochs: int = Field(gt=0)
    learning_rate: float | None = Field(None, gt=0)
    trainable: Literal["none", "all"] | Annotated[int, Field(gt=0)] = "none"

    @field_validator("trainable", mode="before")
    @classmethod
    def _trainable(cls, value):
        if value in ("none", "all") or (
            isinstance(value, int) and not isinstance(value, bool) and value > 0
        ):
            return value
        raise PydanticCustomError(
            "trainable",
            "{value} is not allowed; allowed: 'none', 'all' or a positive integer (top k layers)",
            {"value": repr(value)},
        )


class FinetuneConfig(Section):
    """Fine-tuning in stages; the total number of epochs is the sum over the stages.

    `pretrained` lists the branch keys the stages freeze and unfreeze; by default every
    `text_bert` and `pretrained` branch and every `image_backbone` branch with `weights`.
    """

    pretrained: list[str] | None = None
    stages: list[StageConfig] = Field(min_length=1)


class DistillConfig(Section):
    """Knowledge distillation: the model of this config is the student.

    `teacher` is a run directory (its `model.keras`) or a `.keras` file.
    """

    teacher: str
    temperature: float = Field(4.0, gt=0)
    alpha: float = Field(0.5, ge=0, le=1)
