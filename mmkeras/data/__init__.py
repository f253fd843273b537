"""Input pipelines: manifests to validated, batched model inputs with `tf.data`.

>>> import mmkeras as mk
>>> pipe = mk.data.Pipeline(schema={"image": "image", "label": "label"},
...                         image=mk.data.ImageSpec(size=(64, 64)))
>>> pipe.adapt("train.csv")  # learns the classes (and vocabularies), validates every row
ValidationReport('train.csv: all 12 rows are usable.')
>>> pipe.labels
['cat', 'dog']
>>> train_ds = pipe.dataset("train.csv", training=True, batch_size=4, seed=0)
>>> inputs, labels = next(iter(train_ds))
>>> print(inputs["image"].shape, labels.shape)
(4, 64, 64, 3) (4,)
"""

from mmkeras._lazy import attach

_EXPORTS = {
    "AudioAugment": "mmkeras.data.audio_augment",
    "AudioSpec": "mmkeras.data.audio_spec",
    "CategoricalSpec": "mmkeras.data.categorical_spec",
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
