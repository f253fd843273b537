"""The run configuration schema: data, model, optimizer, schedule, callbacks, training, stages.

One schema serves the YAML file and the Python API: `RunConfig.model_validate(dict)` takes the same
keys as the YAML file, and every section names its fields after the Python arguments they feed
(`build_model(branches=, fusion=, fusion_kwargs=, ...)`, `Pipeline(schema=, image=, ...)`).
Sections reject unknown keys; `mmkeras.config.load` turns validation errors into one line each.
The sections live in one module per area (`data_config`, `model_config`, `task_config`,
`training_config`); this module holds the whole run and names them all.
"""

from pydantic import Field, PrivateAttr, model_validator
from pydantic_core import PydanticCustomError

from mmkeras.config.data_config import (
    AudioAugmentConfig,
    AudioConfig,
    AudioInputConfig,
    CategoricalConfig,
    CategoricalInputConfig,
    DataConfig,
    ImageConfig,
    ImageInputConfig,
    InputSpecConfig,
    LabelConfig,
    OpenCVAugmentConfig,
    TabularConfig,
    TabularInputConfig,
    TextConfig,
    TextInputConfig,
)
from mmkeras.config.model_config import FUSION_FIELDS, BranchConfig, ModelConfig
from mmkeras.config.section import AUTO, AutoInt, Section
from mmkeras.config.task_config import (
    TASK_TAGS,
    AnyTaskConfig,
    CaptioningTaskConfig,
    ClassificationTaskConfig,
    HeadTaskConfig,
    MultiLabelTaskConfig,
    RegressionTaskConfig,
    RetrievalTaskConfig,
    TaskConfig,
    TaskSpec,
    Temperature,
    task_config_class,
)
from mmkeras.config.training_config import (
    BackupConfig,
    CallbacksConfig,
    CheckpointConfig,
    DistillConfig,
    EarlyStoppingConfig,
    FinetuneConfig,
    OptimizerConfig,
    ScheduleConfig,
    StageConfig,
    TrainConfig,
)
from mmkeras.names import (
    BRANCH_KINDS,
    DECODERS,
    FUSIONS,
    MODEL_TASK_KINDS,
    STRATEGIES,
    TASK_KINDS,
)

# Loc parts that pydantic inserts for tagged unions; they are not keys a user wrote.
UNION_TAGS = frozenset({"image", "text", "audio", "tabular", "categorical"}) | TASK_TAGS

__all__ = [
    "AUTO",
    "BRANCH_KINDS",
    "DECODERS",
    "FUSIONS",
    "MODEL_TASK_KINDS",
    "STRATEGIES",
    "TASK_KINDS",
    "UNION_TAGS",
    "AnyTaskConfig",
    "AudioAugmentConfig",
    "AudioConfig",
    "AudioInputConfig",
    "AutoInt",
    "BackupConfig",
    "BranchConfig",
    "CallbacksConfig",
    "CaptioningTaskConfig",
    "CategoricalConfig",
    "CategoricalInputConfig",
    "CheckpointConfig",
    "ClassificationTaskConfig",
    "DataConfig",
    "DistillConfig",
    "EarlyStoppingConfig",
    "FinetuneConfig",
    "HeadTaskConfig",
    "ImageConfig",
    "ImageInputConfig",
    "InputSpecConfig",
    "LabelConfig",
    "ModelConfig",
    "MultiLabelTaskConfig",
    "OpenCVAugmentConfig",
    "OptimizerConfig",
    "RegressionTaskConfig",
    "RetrievalTaskConfig",
    "RunConfig",
    "ScheduleConfig",
    "Section",
    "StageConfig",
    "TabularConfig",
    "TabularInputConfig",
    "TaskConfig",
    "TaskSpec",
    "Temperature",
    "TextConfig",
    "TextInputConfig",
    "TrainConfig",
    "task_config_class",
]


class RunConfig(Section):
    """A whole training run, as read from a YAML file.

    Example:
    >>> config = RunConfig.model_validate({
    ...     "name": "demo",
    ...     "data": {"train": "train.csv",
    ...              "schema": {"x": ["a", "b"], "label": "y"},
    ...              "specs": {"x": {"modality": "tabular"}}},
    ...     "model": {"branches": {"x": {"kind": "tabular_mlp"}},
    ...               "task": {"kind": "classification"}}})
    >>> config.model.fusion, config.train.epochs  # defaults
    ('concat', 10)
    """

    name: str = Field("run", min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    output_dir: str = "runs"
    seed: int = Field(0, ge=0)
    # Same seed, same numbers on the same machine (mmkeras.train.determinism); can be slower.
    deterministic: bool = False
    data: DataConfig
    model: ModelConfig
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    callbacks: CallbacksConfig = Field(default_factory=CallbacksConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    finetune: FinetuneConfig | None = None
    distill: DistillConfig | None = None

    _base_dir: str = PrivateAttr(default=".")

    @model_validator(mode="after")
    def _cross_checks(self):
        problems = []
        inputs = [k for k in self.data.schema_ if not self._is_target(k)]
        missing = [k for k in self.model.branches if k not in inputs]
        if missing:
            problems.append(
                f"model.branches: {missing} have no column in data.schema; "
                f"data.schema inputs: {inputs}"
            )
        if self.finetune and self.finetune.pretrained:
            unknown = [k for k in self.finetune.pretrained if k not in self.model.branches]
            if unknown:
                problems.append(
                    f"finetune.pretrained: {unknown} are not branches; branches: "
                    f"{list(self.model.branches)}"
                )
        problems += self._model_task_problems()
        if problems:
            raise PydanticCustomError("cross", "{problems}", {"problems": problems})
        return self

    def _model_task_problems(self):
        model = self.model
        if isinstance(model.task, dict):
            return [
                f"model.task.{name}.kind: {task.kind!r} is a model of its own and cannot be one "
                f"of several tasks; give model.task as {{kind: {task.kind}, ...}}"
                for name, task in model.task.items()
                if task.kind in MODEL_TASK_KINDS
            ]
        kind = model.model_task
        if kind is None:
            return []
        problems = [
            f"model.{key}: does not apply to a {kind} task (its branches are not fused)"
            for key in FUSION_FIELDS
            if key in model.model_fields_set
        ]
        targets = [k for k in self.data.schema_ if self._is_target(k)]
        if targets or self.data.targets:
            problems.append(
                f"data.schema: {targets} are targets, but a {kind} task learns without labels; "
                "leave them out of data.schema (and data.targets)"
            )
        if self.data.allow_missing:
            problems.append(
                f"data.allow_missing: does not apply to a {kind} task (every row needs all of "
                "its inputs)"
            )
        if self.distill is not None:
            problems.append(f"distill: does not apply to a {kind} task")
        branches = {k: b.kind for k, b in model.branches.items()}
        modalities = sorted(str(b.modality) for b in model.branches.values())
        if kind == "retrieval" and modalities != ["image", "text"]:
            problems.append(
                "model.branches: a retrieval task takes two branches, one image and one text; "
                f"received {branches}"
            )
        if kind == "captioning":
            if modalities != ["image"]:
                problems.append(
                    f"model.branches: a captioning task takes one image branch; received {branches}"
                )
            problems += self._caption_problems()
        return problems

    def _caption_problems(self):
        caption = self.model.task.caption
        unused = self._inputs_without_branch()
        if caption is None and len(unused) != 1:
            return [
                "model.task.caption: give the text input that holds the captions; data.schema "
                f"inputs without a branch: {unused}"
            ]
        if caption is not None and caption not in unused:
            return [
                f"model.task.caption: {caption!r} is not an input of data.schema without a "
                f"branch; allowed: {unused}"
            ]
        return []

    def _inputs_without_branch(self):
        return [
            k for k in self.data.schema_ if not self._is_target(k) and k not in self.model.branches
        ]

    @property
    def caption_input(self):
        """The schema input that holds the captions of a captioning task (else None)."""
        if self.model.model_task != "captioning":
            return None
        return self.model.task.caption or self._inputs_without_branch()[0]

    def _is_target(self, key):
        if self.data.targets is not None:
            return key in self.data.targets
        return key == "label"

    @property
    def base_dir(self):
        """Directory that relative paths in this config are relative to."""
        return self._base_dir

    @property
    def epochs(self):
        """Total number of epochs (the sum over fine-tuning stages when there are stages)."""
        if self.finetune:
            return sum(s.epochs for s in self.finetune.stages)
        return self.train.epochs
