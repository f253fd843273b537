"""The stage plan of a run: which branches train in which epochs, at which learning rate.

A run without `finetune` is one stage that leaves every layer as the model was built. With
`finetune`, each entry of `finetune.stages` is a stage that first sets the pretrained branches
(`finetune.pretrained`, or by default every `text_bert` and `pretrained` branch and every
`image_backbone` with weights) to its `trainable` setting, through `mmkeras.branches.set_trainable`.

>>> plan = stage_plan(mmkeras.config.load("finetune.yaml"))
>>> print(describe_plan(plan))
stage 1: epochs 1-1, learning rate 0.001, branches text: frozen
stage 2: epochs 2-3, learning rate 0.0001, branches text: trainable
"""

import dataclasses

# `finetune.stages[].trainable` -> `set_trainable`'s argument (an int k stays k).
_TRAINABLE = {"none": False, "all": True}


def pretrained_branches(config):
    """Keys of the branches that fine-tuning stages freeze and unfreeze."""
    if config.finetune and config.finetune.pretrained is not None:
        return tuple(config.finetune.pretrained)
    out = []
    for key, branch in config.model.branches.items():
        weights = branch.builder_kwargs().get("weights")
        if branch.kind in ("text_bert", "pretrained") or (
            branch.kind == "image_backbone" and weights
        ):
            out.append(key)
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class Stage:
    """One stage of a run: epochs `first_epoch..last_epoch - 1` (counted from 0).

    Attributes:
        index: int, position in the plan (0 for the first stage).
        first_epoch: int, the stage's first epoch.
        last_epoch: int, one past its last epoch.
        learning_rate: float, the stage's base learning rate (a schedule starts from it).
        trainable: what of `branches` trains: None (left as built), `"none"`, `"all"`, or an
            int `k` (the top `k` blocks of each).
        branches: tuple of the branch keys `trainable` applies to.
    """

    index: int
    first_epoch: int
    last_epoch: int
    learning_rate: float
    trainable: object = None
    branches: tuple = ()

    @property
    def epochs(self):
        """Number of epochs of the stage."""
        return self.last_epoch - self.first_epoch

    def describe(self):
        """One line: `stage 1: epochs 1-2, learning rate 0.001, branches x: frozen`."""
        line = (
            f"stage {self.index + 1}: epochs {self.first_epoch + 1}-{self.last_epoch}, "
            f"learning rate {self.learning_rate:g}"
        )
        if self.trainable is None or not self.branches:
            return line
        setting = {"none": "frozen", "all": "trainable"}.get(
            self.trainable, f"top {self.trainable} blocks trainable"
        )
        return f"{line}, branches {', '.join(self.branches)}: {setting}"

    def apply(self, branch_models):
        """Freezes or unfreezes the stage's branches.

        Args:
            branch_models: dict `{branch key: branch model}` (see `branch_models`).
        """
        if self.trainable is None:
            return
        from mmkeras.branches.freezing import set_trainable

        value = _TRAINABLE.get(self.trainable, self.trainable)
        for key in self.branches:
            set_trainable(branch_models[key], value)


def stage_plan(config):
    """The list of `Stage`s of a (resolved) `RunConfig`, in training order."""
    if not config.finetune:
        return [Stage(0, 0, config.train.epochs, config.optimizer.learning_rate)]
    branches = pretrained_branches(config)
    stages, first = [], 0
    for index, entry in enumerate(config.finetune.stages):
        stages.append(
            Stage(
                index,
                first,
                first + entry.epochs,
                entry.learning_rate or config.optimizer.learning_rate,
                entry.trainable,
                branches,
            )
        )
        first += entry.epochs
    return stages


def describe_plan(stages):
    """The plan as text, one line per stage."""
    return "\n".join(stage.describe() for stage in stages)


def branch_models(model, config):
    """`{branch key: branch model}` of a model built from `config`.

    A `MultimodalModel` holds its branches by key; a `DualEncoder` or `Captioner` holds them
    as attributes named after the modality they read (`image_branch`, `text_branch`).
    """
    from mmkeras.train.builders import model_inputs

    mapping = model_inputs(config)
    if mapping is None:
        return dict(model.branches)
    return {
        key: getattr(model, f"{name}_branch")
        for name, key in mapping.items()
        if hasattr(model, f"{name}_branch")
    }


__all__ = ["Stage", "branch_models", "describe_plan", "pretrained_branches", "stage_plan"]
