"""Export: a SavedModel that takes raw bytes and strings, a loader, TFLite conversion.

>>> import mmkeras as mk
>>> mk.export.saved_model(model, pipe, "exported/")     # serving_default(image=bytes, text=str)
>>> predictor = mk.export.load("exported/")
>>> predictor.predict({"image": ["cat.jpg"], "text": ["a cat"]})["label"]

The exported SavedModel needs only TensorFlow and tensorflow-text to load and serve.
"""

from mmkeras.atomic_files import write_directory_atomically
from mmkeras.export.metadata import METADATA_FILE, read_metadata
from mmkeras.export.predict_export_dir import is_export_dir, predict_export_dir
from mmkeras.export.predictor import Predictor, load
from mmkeras.export.saved_model import saved_model, serving_heads
from mmkeras.export.serving_head import ServingHead
from mmkeras.export.tflite_conversion_error import TFLiteConversionError


def __getattr__(name):
    # TFLite conversion pulls in the converter: load it on first use.
    if name in ("convert_tflite", "compare_tflite", "tflite_outputs"):
        from mmkeras.export import tflite

        return getattr(tflite, name)
    # Task-specific exporters import their model modules: load them on first use too.
    if name == "export_captioner":
        from mmkeras.export.captioner import export_captioner

        return export_captioner
    if name == "export_dual_encoder":
        from mmkeras.export.dual_encoder import export_dual_encoder

        return export_dual_encoder
    raise AttributeError(f"module 'mmkeras.export' has no attribute {name!r}")


__all__ = [
    "METADATA_FILE",
    "Predictor",
    "ServingHead",
    "TFLiteConversionError",
    "compare_tflite",
    "convert_tflite",
    "export_captioner",
    "export_dual_encoder",
    "is_export_dir",
    "load",
    "predict_export_dir",
    "read_metadata",
    "saved_model",
    "serving_heads",
    "tflite_outputs",
    "write_directory_atomically",
]
