"""`model.task`: one typed config per task kind, chosen by its `kind` key.

`classification`, `multilabel`, `regression`: a head (`Classification`, `MultiLabel`,
`Regression`) on the fused branches. `retrieval` and `captioning`: a whole task model
(`DualEncoder`, `Captioner`). Each kind takes only its own keys; a key of another kind is an
error that names the key, the kind and the keys that kind takes.
"""

from typing import Annotated, Literal, Union

from pydantic import Discriminator, Field, Tag
from pydantic_core import PydanticCustomError

from mmkeras.config.section import AUTO, AutoInt, Section, Temperature
from mmkeras.names import (
    CAPTIONING,
    CLASSIFICATION,
    DECODERS,
    MODEL_TASK_KINDS,
    MULTILABEL,
    REGRESSION,
    RETRIEVAL,
    TASK_KINDS,
)

# A task without `kind` is a classification task.
DEFAULT_TASK_KIND = CLASSIFICATION
# The tag under which a dict of several named tasks is validated.
MULTI_TASK = "multi"


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

    This is the base class of the configs of each kind (`ClassificationTaskConfig`, ...);
    `TaskConfig(kind="regression", num_outputs=2)` gives the config of that kind.
    """

    kind: str

    def __new__(cls, *args, **kwargs):
        if cls is TaskConfig:
            cls = task_config_class(kwargs.get("kind", DEFAULT_TASK_KIND))
        return super().__new__(cls)

    @classmethod
    def _unknown_keys_error(cls, keys):
        kind = cls.model_fields["kind"].default
        foreign = sorted(k for k in keys if any(k in c.model_fields for c in _KINDS.values()))
        if not foreign:
            return super()._unknown_keys_error(keys)
        return PydanticCustomError(
            "task_field",
            "{keys} do not apply to a {kind} task; allowed keys: {allowed}",
            {"keys": foreign, "kind": kind, "allowed": sorted(cls.allowed_keys())},
        )

    def task_kwargs(self):
        """Keyword arguments of the task class (every key but `kind`)."""
        return {k: getattr(self, k) for k in sorted(type(self).model_fields) if k != "kind"}


class HeadTaskConfig(TaskConfig):
    """The keys every task head takes (`name`, `hidden_units`, `dropout`, `loss_weight`)."""

    name: str | None = None
    hidden_units: list[Annotated[int, Field(gt=0)]] = Field(default_factory=list)
    dropout: float = Field(0.0, ge=0, lt=1)
    loss_weight: float = Field(1.0, ge=0)

    def task_kwargs(self):
        """Keyword arguments of the `mmkeras.tasks` class (no `name` when it is None)."""
        kwargs = super().task_kwargs()
        if kwargs["name"] is None:
            del kwargs["name"]
        kwargs["hidden_units"] = tuple(kwargs["hidden_units"])
        return kwargs


class ClassificationTaskConfig(HeadTaskConfig):
    """A `Classification` head: one class per sample."""

    kind: Literal[CLASSIFICATION] = CLASSIFICATION  # type: ignore[valid-type]
    num_classes: AutoInt = AUTO
    binary: bool = False
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    class_names: list[str] | None = None


class MultiLabelTaskConfig(HeadTaskConfig):
    """A `MultiLabel` head: any number of labels per sample."""

    kind: Literal[MULTILABEL] = MULTILABEL  # type: ignore[valid-type]
    num_labels: AutoInt = AUTO
    threshold: float = Field(0.5, gt=0, lt=1)
    label_names: list[str] | None = None


class RegressionTaskConfig(HeadTaskConfig):
    """A `Regression` head: real values per sample."""

    kind: Literal[REGRESSION] = REGRESSION  # type: ignore[valid-type]
    num_outputs: AutoInt = AUTO
    loss: Literal["mse", "mae", "huber"] = "mse"


class RetrievalTaskConfig(TaskConfig):
    """A `DualEncoder` of one image and one text branch, trained contrastively on pairs."""

    kind: Literal[RETRIEVAL] = RETRIEVAL  # type: ignore[valid-type]
    embed_dim: int = Field(64, gt=0)
    temperature: Temperature = "learnable"
    recall_ks: list[Annotated[int, Field(gt=0)]] = Field(default=[1, 5, 10], min_length=1)

    def task_kwargs(self):
        """Keyword arguments of `mmkeras.models.DualEncoder` (besides the branches)."""
        return {**super().task_kwargs(), "recall_ks": tuple(self.recall_ks)}


class CaptioningTaskConfig(TaskConfig):
    """A `Captioner` on the one image branch that learns to write the text input `caption`."""

    kind: Literal[CAPTIONING] = CAPTIONING  # type: ignore[valid-type]
    dropout: float = Field(0.0, ge=0, lt=1)
    caption: str | None = None
    decoder: Literal[DECODERS] = "lstm"  # type: ignore[valid-type]
    attention: bool = True
    vocab_size: AutoInt = AUTO
    max_length: AutoInt = AUTO
    embedding_dim: int = Field(64, gt=0)
    units: int = Field(128, gt=0)
    num_layers: int = Field(2, gt=0)
    num_heads: int = Field(2, gt=0)

    def task_kwargs(self):
        """Keyword arguments of `mmkeras.models.Captioner` (besides the image branch): every
        key but `caption`, which names the data input, not a model setting."""
        kwargs = super().task_kwargs()
        del kwargs["caption"]
        return kwargs


_KINDS = {
    CLASSIFICATION: ClassificationTaskConfig,
    MULTILABEL: MultiLabelTaskConfig,
    REGRESSION: RegressionTaskConfig,
    RETRIEVAL: RetrievalTaskConfig,
    CAPTIONING: CaptioningTaskConfig,
}
assert tuple(_KINDS) == TASK_KINDS


def task_config_class(kind):
    """The config class of a task kind (`"classification"`, ...).

    Raises:
        ValueError: `kind` is not a task kind.
    """
    if kind not in _KINDS:
        raise ValueError(f"`kind` must be one of {', '.join(TASK_KINDS)}, got {kind!r}")
    return _KINDS[kind]


def is_model_task(task):
    """Whether a task config is a whole model of its own (`retrieval`, `captioning`)."""
    return isinstance(task, TaskConfig) and task.kind in MODEL_TASK_KINDS


def _task_kind(value):
    if isinstance(value, TaskConfig):
        return value.kind
    if isinstance(value, dict):
        return value.get("kind", DEFAULT_TASK_KIND)
    return DEFAULT_TASK_KIND  # not a mapping: the default kind's config says so


def _task_tag(value):
    if isinstance(value, TaskConfig):
        return value.kind
    if isinstance(value, dict) and ("kind" in value or not value):
        return value.get("kind", DEFAULT_TASK_KIND)
    return MULTI_TASK


def _kind_union(tag):
    """The union of the task configs, discriminated by `kind` (absent: classification)."""
    members = tuple(Annotated[c, Tag(k)] for k, c in _KINDS.items())
    return Annotated[
        Union[members + tag],  # noqa: UP007 (a union built from a tuple)
        Discriminator(_task_tag if tag else _task_kind),
    ]


def describe_task_kinds():
    """The allowed task kinds, as error messages list them."""
    return ", ".join(repr(k) for k in TASK_KINDS[:-1]) + f" or {TASK_KINDS[-1]!r}"


# One task of any kind, under its kind's tag.
AnyTaskConfig = _kind_union(())
# `model.task`: one task (a mapping with `kind`), or several keyed by target name.
TaskSpec = _kind_union((Annotated[dict[str, AnyTaskConfig], Tag(MULTI_TASK)],))
# Loc parts that these unions insert; they are not keys a user wrote.
TASK_TAGS = frozenset(TASK_KINDS) | {MULTI_TASK}
