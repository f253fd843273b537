"""Input pipelines: manifests to validated, batched model inputs with `tf.data`.

>>> import mmkeras as mk
>>> pipe = mk.data.Pipeline(schema={"image": "path", "label": "label"},
...                         image=mk.data.ImageSpec(size=(64, 64)))
>>> pipe.adapt("train.csv")
>>> train_ds = pipe.dataset("train.csv", training=True, batch_size=32, seed=0)
"""

from mmkeras.data.audio_augment import AudioAugment
from mmkeras.data.audio_spec import AudioSpec
from mmkeras.data.data_validation_error import DataValidationError
from mmkeras.data.image_spec import ImageSpec
from mmkeras.data.label_spec import LabelSpec
from mmkeras.data.manifest import read_manifest
from mmkeras.data.opencv_augment import OpenCVAugment
from mmkeras.data.pipeline import Pipeline
from mmkeras.data.skip_report import SkipReport
from mmkeras.data.tabular_spec import TabularSpec
from mmkeras.data.text_spec import TextSpec
from mmkeras.data.tfrecords import read_tfrecord_meta, write_tfrecords
from mmkeras.data.validation_report import ValidationReport
from mmkeras.data.word_tokenizer import WordTokenizer


def __getattr__(name):
    # WordPiece lives in its own module and pulls in more of tensorflow-text: load on first use.
    if name == "WordPieceTokenizer":
        from mmkeras.data.wordpiece import WordPieceTokenizer

        return WordPieceTokenizer
    raise AttributeError(f"module 'mmkeras.data' has no attribute {name!r}")


__all__ = [
    "AudioAugment",
    "AudioSpec",
    "DataValidationError",
    "ImageSpec",
    "LabelSpec",
    "OpenCVAugment",
    "Pipeline",
    "SkipReport",
    "TabularSpec",
    "TextSpec",
    "ValidationReport",
    "WordPieceTokenizer",
    "WordTokenizer",
    "read_manifest",
    "read_tfrecord_meta",
    "write_tfrecords",
]
