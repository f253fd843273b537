"""The `model` section: the arguments of `mmkeras.build_model` (branches, fusion, task)."""

from typing import Any, Literal

from pydantic import ConfigDict, Field, model_serializer

from mmkeras.config.section import Section
from mmkeras.config.task_config import ClassificationTaskConfig, TaskSpec, is_model_task
from mmkeras.names import BRANCH_KINDS, BRANCH_MODALITIES, FUSIONS

# The keys of `model` that only a fused model takes.
FUSION_FIELDS = ("fusion", "fusion_kwargs", "modality_dropout")


class BranchConfig(Section):
    """A branch: `kind` names a builder of `mmkeras.branches`; other keys are its arguments.

    Sizes the pipeline knows (`vocab_size`, `input_shape`, `num_features`, `sample_rate`,
    `duration`, `max_length`) may be `auto`.
    """

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    kind: Literal[BRANCH_KINDS]  # type: ignore[valid-type]

    def builder_kwargs(self):
        """The builder's keyword arguments (every key but `kind`)."""
        return dict(self.model_extra or {})

    @property
    def modality(self):
        """The modality of the input this branch reads (`"image"`, `"text"`, ...); for a
        `pretrained` branch, its `modality` key (None when left to the checkpoint)."""
        return BRANCH_MODALITIES[self.kind] or (self.model_extra or {}).get("modality")


class ModelConfig(Section):
    """Arguments of `mmkeras.build_model`.

    `task` is one task (a mapping with `kind`; without `kind`, a classification task) or
    several tasks keyed by target name. Each task kind has its own config below and takes only
    its own keys.
    """

    branches: dict[str, BranchConfig] = Field(min_length=1)
    fusion: Literal[FUSIONS] = "concat"  # type: ignore[valid-type]
    fusion_kwargs: dict[str, Any] = Field(default_factory=dict)
    modality_dropout: float = Field(0.0, ge=0, lt=1)
    task: TaskSpec = Field(default_factory=ClassificationTaskConfig)
    name: str = "multimodal_model"

    @property
    def model_task(self):
        """The kind of a whole-model task (`"retrieval"`, `"captioning"`), else None."""
        return self.task.kind if is_model_task(self.task) else None

    @model_serializer(mode="wrap")
    def _without_fusion_of_model_tasks(self, handler):
        data = handler(self)
        if self.model_task:
            # Those models fuse nothing: keep the keys out of written configs.
            for key in FUSION_FIELDS:
                data.pop(key, None)
        return data
