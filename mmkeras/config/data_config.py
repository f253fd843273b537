"""The `data` section: manifests, input specs and the `mmkeras.data.Pipeline` that reads them."""

from typing import Annotated, Literal

from pydantic import Field, Tag, model_validator
from pydantic_core import PydanticCustomError

from mmkeras.config.section import Section
from mmkeras.names import HEAD_TASK_KINDS


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

    tokenizer: Literal["word", "wordpiece", "pretrained"] = "word"
    max_length: int = Field(64, gt=0)
    vocab_size: int = Field(20000, ge=3)
    vocab: str | None = None
    split: Literal["whitespace", "unicode_script", "character"] = "whitespace"
    lower_case: bool | None = None
    min_count: int = Field(1, gt=0)
    source: Literal["column", "file"] = "column"
    allow_empty: bool = False

    @model_validator(mode="after")
    def _wordpiece_needs_vocab(self):
        if self.tokenizer == "wordpiece" and not self.vocab:
            raise PydanticCustomError(
                "wordpiece_vocab",
                "tokenizer 'wordpiece' needs `vocab`, the path of a vocab.txt",
                {},
            )
        if self.tokenizer == "pretrained" and not self.vocab:
            raise PydanticCustomError(
                "pretrained_vocab",
                "tokenizer 'pretrained' needs `vocab`, the checkpoint (a keras-hub preset name, "
                "'hf://org/name' or a local folder)",
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
    impute: bool = False


class CategoricalConfig(Section):
    """Arguments of `mmkeras.data.CategoricalSpec`."""

    max_categories: int = Field(50, gt=0)
    min_count: int = Field(1, gt=0)


class ImageInputConfig(ImageConfig):
    modality: Literal["image"]


class TextInputConfig(TextConfig):
    modality: Literal["text"]


class AudioInputConfig(AudioConfig):
    modality: Literal["audio"]


class TabularInputConfig(TabularConfig):
    modality: Literal["tabular"]


class CategoricalInputConfig(CategoricalConfig):
    modality: Literal["categorical"]


InputSpecConfig = Annotated[
    Annotated[ImageInputConfig, Tag("image")]
    | Annotated[TextInputConfig, Tag("text")]
    | Annotated[AudioInputConfig, Tag("audio")]
    | Annotated[TabularInputConfig, Tag("tabular")]
    | Annotated[CategoricalInputConfig, Tag("categorical")],
    Field(discriminator="modality"),
]


class LabelConfig(Section):
    """Arguments of `mmkeras.data.LabelSpec` (one target)."""

    kind: Literal[HEAD_TASK_KINDS] = "classification"  # type: ignore[valid-type]
    classes: list[str] | None = None
    separator: str = Field("|", min_length=1)


class DataConfig(Section):
    """Manifests and the `mmkeras.data.Pipeline` that reads them.

    Relative paths are relative to the directory of the configuration file. `batch_size` is
    the global batch size (split over the replicas of a distribution strategy). `shards`: write
    the training manifest once as that many TFRecord files in the run directory and train from
    them (decoded samples; multi-worker jobs shard them by file). `cache`: keep the decoded
    training and validation rows in memory after the first epoch, so later epochs read and
    decode no file (augmentation and shuffling still change every epoch): `true`, `false`, or
    `auto` (the default: when the decoded rows of the training manifest fit in 1 GiB).
    `image`, `text`, `audio`, `tabular` and `categorical` give the spec of the schema key of
    that name; `specs` the specs of any schema keys (each with its `modality`).
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
    categorical: CategoricalConfig | None = None
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
    cache: bool | Literal["auto"] = "auto"
    shards: int | None = Field(None, gt=0)
