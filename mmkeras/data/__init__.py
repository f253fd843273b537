"""Input pipelines: manifests to validated, batched model inputs with `tf.data`.

>>> import mmkeras as mk
>>> pipe = mk.data.Pipeline(schema={"image": "path", "label": "label"},
...                         image=mk.data.ImageSpec(size=(64, 64)))
>>> pipe.adapt("train.csv")
>>> train_ds = pipe.dataset("train.csv", training=True, batch_size=32, seed=0)
"""

from mmkeras._lazy import attach

_EXPORTS = {
    "AudioAugment": "mmkeras.data.audio_augment",
    "AudioSpec": "mmkeras.data.audio_spec",
    "DataValidationError": "mmkeras.data.data_validation_error",
    "ImageSpec": "mmkeras.data.image_spec",
    "LabelSpec": "mmkeras.data.label_spec",
    "OpenCVAugment": "mmkeras.data.opencv_augment",
    "Pipeline": "mmkeras.data.pipeline",
    "SkipReport": "mmkeras.data.skip_report",
    "TabularSpec": "mmkeras.data.tabular_spec",
    "TextSpec": "mmkeras.data.text_spec",
    "ValidationReport": "mmkeras.data.validation_report",
    "WordPieceTokenizer": "mmkeras.data.wordpiece",
    "WordTokenizer": "mmkeras.data.word_tokenizer",
    "read_manifest": "mmkeras.data.manifest",
    "read_tfrecord_meta": "mmkeras.data.tfrecords",
    "write_tfrecords": "mmkeras.data.tfrecords",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
