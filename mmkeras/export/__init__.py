"""Export: a SavedModel that takes raw bytes and strings, a loader, TFLite conversion.

>>> import mmkeras as mk
>>> mk.export.saved_model(model, pipe, "exported/")     # serving_default(image=bytes, text=str)
>>> predictor = mk.export.load("exported/")
>>> predictor.predict({"image": ["cat.jpg"], "text": ["a cat"]})["label"]

The exported SavedModel needs only TensorFlow and tensorflow-text to load and serve.
"""

from mmkeras.export.atomic_directory import write_directory_atomically
from mmkeras.export.metadata import METADATA_FILE, read_metadata
from mmkeras.export.saved_model import saved_model, serving_heads
from mmkeras.export.serving_head import ServingHead

__all__ = [
    "METADATA_FILE",
    "ServingHead",
    "read_metadata",
    "saved_model",
    "serving_heads",
    "write_directory_atomically",
]
