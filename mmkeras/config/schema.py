"""The run configuration schema: data, model, optimizer, schedule, callbacks, training, stages.

One schema serves the YAML file and the Python API: `RunConfig.model_validate(dict)` takes the same
keys as the YAML file, and every section names its fields after the Python arguments they feed
(`build_model(branches=, fusion=, fusion_kwargs=, ...)`, `Pipeline(schema=, image=, ...)`).
Sections reject unknown keys; `mmkeras.config.load` turns validation errors into one line each.
"""

import types
import typing
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

# Kept here (not imported from mmkeras.models) so that reading a config imports no Keras;
# a test checks that these lists match the model code.
BRANCH_KINDS = (
    "image_cnn",
    "image_backbone",
    "text_rnn",
    "text_transformer",
    "text_bert",
    "audio_cnn",
    "audio_rnn",
    "tabular_mlp",
)
FUSIONS = (
    "concat",
    "sum",
    "product",
    "mlp",
    "gated",
    "attention",
    "cross_attention",
    "low_rank",
    "tensor",
)
TASK_KINDS = ("classification", "multilabel", "regression", "retrieval", "captioning")
# Tasks that are whole models of their own (`DualEncoder`, `Captioner`), not heads on a fusion.
MODEL_TASK_KINDS = ("retrieval", "captioning")
DECODERS = ("lstm", "transformer")
STRATEGIES = ("auto", "default", "mirrored", "multi_worker", "tpu")
AUTO = "auto"

# Loc parts that pydantic inserts for tagged unions; they are not keys a user wrote.
UNION_TAGS = frozenset({"single", "multi", "image", "text", "audio", "tabular"})

_COMMON_TASK_FIELDS = {"kind", "name", "hidden_units", "dropout", "loss_weight"}
# The keys each task kind takes (`kind` included).
_TASK_FIELDS = {
    "classification": _COMMON_TASK_FIELDS
    | {"num_classes", "binary", "label_smoothing", "class_names"},
    "multilabel": _COMMON_TASK_FIELDS | {"num_labels", "threshold", "label_names"},
    "regression": _COMMON_TASK_FIELDS | {"num_outputs", "loss"},
    "retrieval": {"kind", "embed_dim", "temperature", "recall_ks"},
    "captioning": {
        "kind",
        "caption",
        "decoder",
        "attention",
        "vocab_size",
        "max_length",
        "embedding_dim",
        "units",
        "num_layers",
        "num_heads",
        "dropout",
    },
}


def _auto_or_positive_int(value):
    if value == AUTO:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PydanticCustomError(
            "auto_or_int",
            "{value} is not allowed; allowed: a positive integer or 'auto'",
            {"value": repr(value)},
        )
    return value


AutoInt = Annotated[Any, BeforeValidator(_auto_or_positive_int)]


def _temperature(value):
    if value == "learnable":
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise PydanticCustomError(
            "temperature",
            "{value} is not allowed; allowed: 'learnable' or a positive number",
            {"value": repr(value)},
        )
    return float(value)


Temperature = Annotated[Any, BeforeValidator(_temperature)]


def _annotation_types(annotation):
    """The plain types an annotation admits (through Optional, unions and `Annotated`)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _annotation_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return {t for a in typing.get_args(annotation) for t in _annotation_types(a)}
    return {origin or annotation}


def _bool_for_number(annotation, value):
    """Whether `value` holds a boolean where `annotation` wants an int or a float."""
    if isinstance(value, list | tuple):
        inner = [
            a
            for t in (annotation,)
            for a in typing.get_args(t)
            if typing.get_origin(t) in (list, tuple)
        ]
        if not inner:
            inner = [
                a
                for u in typing.get_args(annotation)
                if typing.get_origin(u) in (list, tuple)
                for a in typing.get_args(u)
            ]
        return any(_bool_for_number(a, v) for a in inner if a is not Ellipsis for v in value)
    if not isinstance(value, bool):
        return False
    admitted = _annotation_types(annotation)
    return bool(admitted & {int, float}) and not admitted & {bool, Any}


class Section(BaseModel):
    """Base of every section: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data):
        if not isinstance(data, dict) or cls.model_config.get("extra") != "forbid":
            return data
        allowed = cls.allowed_keys()
        unknown = [k for k in data if k not in allowed and k not in cls.model_fields]
        if unknown:
            raise PydanticCustomError(
                "unknown_keys",
                "unknown keys {keys}",
                {"keys": [str(k) for k in unknown], "allowed": sorted(allowed)},
            )
        fields = {f.alias or name: f for name, f in cls.model_fields.items()}
        fields.update(cls.model_fields)
        for key, value in data.items():
            # pydantic reads true/false as 1/0 for a number; in YAML `batch_size: yes` is a slip.
            if _bool_for_number(fields[key].annotation, value):
                raise PydanticCustomError(
                    "bool_for_number",
                    "{key}: expected a number, got {value} (a boolean; YAML reads yes/no/on/off "
                    "as booleans)",
                    {"key": str(key), "value": repr(value)},
                )
        return data

    @classmethod
    def allowed_keys(cls):
        """The keys this section accepts, as written in YAML."""
        return {f.alias or name for name, f in cls.model_fields.items()}


# === Data ===
class OpenCVAugmentConfig(Section):
    """Arguments of `mmkeras.data.OpenCVAugment` (training image augmentation)."""

    rotation: float = Field(0.0, ge=0, le=180)
    scale: tuple[float, float] | None = None
    translate: float = Field(0.0, ge=0, le=1)
    flip: Literal["horizontal", "vertical", "both"] | None = None
    brightness: float = Field(0.0, ge=0, le=1)
    contrast: float = Field(0.0, ge=0, le=1)
    saturation: float = Field(0.0, ge=0, le=1)
    hue: float = Field(0.0, ge=0, le=0.5)
    blur: float = Field(0.0, ge=0, le=1)
    cutout: float = Field(0.0, ge=0, le=1)


class AudioAugmentConfig(Section):
    """Arguments of `mmkeras.data.AudioAugment` (training waveform augmentation)."""

    gain_db: float = Field(0.0, ge=0, le=60)
    noise: float = Field(0.0, ge=0, le=1)
    shift: float = Field(0.0, ge=0, le=1)


class ImageConfig(Section):
    """Arguments of `mmkeras.data.ImageSpec`."""

    size: tuple[Annotated[int, Field(gt=0)], Annotated[int, Field(gt=0)]] = (224, 224)
    channels: Literal[1, 3] = 3
    augment: OpenCVAugmentConfig | None = None
    max_pixels: int = Field(40_000_000, gt=0)
    resize_method: Literal["bilinear", "nearest", "bicubic", "area"] = "bilinear"


class TextConfig(Section):
    """Arguments of `mmkeras.data.TextSpec`."""

    tokenizer: Literal["word", "wordpiece"] = "word"
    max_length: int = Field(64, gt=0)
    vocab_size: int = Field(20000, ge=3)
    vocab: str | None = None
    split: Literal["whitespace", "unicode_script"] = "whitespace"
    lower_case: bool | None = None
    min_count: int = Field(1, gt=0)
    source: Literal["column", "file"] = "column"

    @model_validator(mode="after")
    def _wordpiece_needs_vocab(self):
        if self.tokenizer == "wordpiece" and not self.vocab:
            raise PydanticCustomError(
                "wordpiece_vocab",
                "tokenizer 'wordpiece' needs `vocab`, the path of a vocab.txt",
                {},
            )
        return self


class AudioConfig(Section):
    """Arguments of `mmkeras.data.AudioSpec`."""

    sample_rate: int = Field(16000, gt=0)
    duration: float = Field(1.0, gt=0)
    augment: AudioAugmentConfig | None = None
    max_duration: float = Field(600.0, gt=0)


class TabularConfig(Section):
    """Arguments of `mmkeras.data.TabularSpec`."""

    normalize: bool = False


class ImageInputConfig(ImageConfig):
    modality: Literal["image"]


class TextInputConfig(TextConfig):
    modality: Literal["text"]


class AudioInputConfig(AudioConfig):
    modality: Literal["audio"]


class TabularInputConfig(TabularConfig):
    modality: Literal["tabular"]


InputSpecConfig = Annotated[
    Annotated[ImageInputConfig, Tag("image")]
    | Annotated[TextInputConfig, Tag("text")]
    | Annotated[AudioInputConfig, Tag("audio")]
    | Annotated[TabularInputConfig, Tag("tabular")],
    Field(discriminator="modality"),
]


class LabelConfig(Section):
    """Arguments of `mmkeras.data.LabelSpec` (one target)."""

    kind: Literal["classification", "multilabel", "regression"] = "classification"
    classes: list[str] | None = None
    separator: str = Field("|", min_length=1)


class DataConfig(Section):
    """Manifests and the `mmkeras.data.Pipeline` that reads them.

    Relative paths are relative to the directory of the configuration file. `batch_size` is
    the global batch size (split over the replicas of a distribution strategy). `shards`: write
    the training manifest once as that many TFRecord files in the run directory and train from
    them (decoded samples; multi-worker jobs shard them by file).
    """

    train: str
    validation: str | None = None
    test: str | None = None
    root: str | None = None
    schema_: dict[str, str | list[str]] = Field(alias="schema", min_length=1)
    image: ImageConfig | None = None
    text: TextConfig | None = None
    audio: AudioConfig | None = None
    tabular: TabularConfig | None = None
    specs: dict[str, InputSpecConfig] = Field(default_factory=dict)
    targets: dict[str, LabelConfig] | None = None
    allow_missing: bool = False
    errors: Literal["raise", "skip"] = "raise"
    # CSV delimiter: None sniffs it from the header line among , ; tab |.
    delimiter: str | None = Field(None, min_length=1, max_length=1)
    # Every file a row names must lie under `root` (or the manifest's folder): `../`, absolute
    # paths and symlinks out of it make the row unusable (`path_outside_root`).
    confine_paths: bool = False
    batch_size: int = Field(32, gt=0)
    shuffle: bool = True
    shards: int | None = Field(None, gt=0)


# === Model ===
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


class TaskConfig(Section):
    """What the model learns: `kind` picks a task head or a whole task model.

    `classification`, `multilabel`, `regression`: a head (`Classification`, `MultiLabel`,
    `Regression`) on the fused branches, trained on the target of `data.schema`.
    `retrieval`: a `DualEncoder` of the two branches (one image, one text) trained
    contrastively on image-text pairs, without labels (`embed_dim`, `temperature`, `recall_ks`).
    `captioning`: a `Captioner` on the one image branch that learns to write the text input
    `caption` (default: the one schema input without a branch), without labels; `vocab_size`
    and `max_length` come from that text input, whose ids are wrapped in start / end tokens.
    Each kind takes only its own keys.
    """

    kind: Literal[TASK_KINDS] = "classification"  # type: ignore[valid-type]
    name: str | None = None
    hidden_units: list[Annotated[int, Field(gt=0)]] = Field(default_factory=list)
    dropout: float = Field(0.0, ge=0, lt=1)
    loss_weight: float = Field(1.0, ge=0)
    num_classes: AutoInt = AUTO
    binary: bool = False
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    class_names: list[str] | None = None
    num_labels: AutoInt = AUTO
    threshold: float = Field(0.5, gt=0, lt=1)
    label_names: list[str] | None = None
    num_outputs: AutoInt = AUTO
    loss: Literal["mse", "mae", "huber"] = "mse"
    embed_dim: int = Field(64, gt=0)
    temperature: Temperature = "learnable"
    recall_ks: list[Annotated[int, Field(gt=0)]] = Field(default=[1, 5, 10], min_length=1)
    caption: str | None = None
    decoder: Literal[DECODERS] = "lstm"  # type: ignore[valid-type]
    attention: bool = True
    vocab_size: AutoInt = AUTO
    max_length: AutoInt = AUTO
    embedding_dim: int = Field(64, gt=0)
    units: int = Field(128, gt=0)
    num_layers: int = Field(2, gt=0)
    num_heads: int = Field(2, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _fields_of_kind(cls, data):
        if not isinstance(data, dict):
            return data
        kind = data.get("kind", "classification")
        if kind not in _TASK_FIELDS:
            return data
        foreign = sorted(k for k in data if k not in _TASK_FIELDS[kind])
        foreign = [k for k in foreign if k in cls.model_fields]
        if foreign:
            raise PydanticCustomError(
                "task_field",
                "{keys} do not apply to a {kind} task; allowed keys: {allowed}",
                {"keys": foreign, "kind": kind, "allowed": sorted(_TASK_FIELDS[kind])},
            )
        return data

    @model_serializer(mode="wrap")
    def _only_fields_of_kind(self, handler):
        data = handler(self)
        return {k: v for k, v in data.items() if k in _TASK_FIELDS[self.kind]}

    def task_kwargs(self):
        """Keyword arguments of the task class (only the keys that apply to `kind`)."""
        keys = _TASK_FIELDS[self.kind] - {"kind"}
        kwargs = {k: getattr(self, k) for k in sorted(keys)}
        if self.kind in MODEL_TASK_KINDS:
            return kwargs
        if kwargs["name"] is None:
            del kwargs["name"]
        kwargs["hidden_units"] = tuple(kwargs["hidden_units"])
        return kwargs


def _task_tag(value):
    if isinstance(value, dict) and ("kind" in value or not value):
        return "single"
    if isinstance(value, TaskConfig):
        return "single"
    return "multi"


TaskSpec = Annotated[
    Annotated[TaskConfig, Tag("single")] | Annotated[dict[str, TaskConfig], Tag("multi")],
    Discriminator(_task_tag),
]


class ModelConfig(Section):
    """Arguments of `mmkeras.build_model`."""

    branches: dict[str, BranchConfig] = Field(min_length=1)
    fusion: Literal[FUSIONS] = "concat"  # type: ignore[valid-type]
    fusion_kwargs: dict[str, Any] = Field(default_factory=dict)
    modality_dropout: float = Field(0.0, ge=0, lt=1)
    task: TaskSpec = Field(default_factory=TaskConfig)
    name: str = "multimodal_model"

    @property
    def model_task(self):
        """The kind of a whole-model task (`"retrieval"`, `"captioning"`), else None."""
        task = self.task
        if isinstance(task, TaskConfig) and task.kind in MODEL_TASK_KINDS:
            return task.kind
        return None

    @model_serializer(mode="wrap")
    def _without_fusion_of_model_tasks(self, handler):
        data = handler(self)
        if self.model_task:
            # Those models fuse nothing: keep the keys out of written configs.
            for key in _FUSION_FIELDS:
                data.pop(key, None)
        return data


_FUSION_FIELDS = ("fusion", "fusion_kwargs", "modality_dropout")


def _branch_modality(kind):
    # Builder names start with the modality they read: image_cnn, text_rnn, ...
    return kind.split("_")[0]


# === Optimisation ===
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
    `text_bert` branch and every `image_backbone` branch with `weights`.
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


# === Run ===
class RunConfig(Section):
    """A whole training run, as read from a YAML file.

    Example:
    >>> config = RunConfig.model_validate({"name": "demo", "data": {...}, "model": {...}})
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
            for key in _FUSION_FIELDS
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
        modalities = sorted(_branch_modality(b) for b in branches.values())
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
