"""Export: a SavedModel that takes raw bytes and strings, a loader, TFLite conversion.

>>> import mmkeras as mk
>>> mk.export.saved_model(model, pipe, "exported/")     # serving_default(image=bytes, text=str)
>>> predictor = mk.export.load("exported/")
>>> predictor.predict({"image": ["cat.jpg"], "text": ["a cat"]})["label"]

The exported SavedModel needs only TensorFlow and tensorflow-text to load and serve.
"""

from mmkeras._lazy import attach

_EXPORTS = {
    "METADATA_FILE": "mmkeras.export.metadata",
    "Predictor": "mmkeras.export.predictor",
    "ServingHead": "mmkeras.export.serving_head",
    "TFLiteConversionError": "mmkeras.export.tflite_conversion_error",
    "compare_tflite": "mmkeras.export.tflite",
    "convert_tflite": "mmkeras.export.tflite",
    "export_captioner": "mmkeras.export.captioner",
    "export_dual_encoder": "mmkeras.export.dual_encoder",
    "is_export_dir": "mmkeras.export.export_dir",
    "load": "mmkeras.export.predictor",
    "predict_export_dir": "mmkeras.export.export_dir",
    "read_metadata": "mmkeras.export.metadata",
    "saved_model": "mmkeras.export.saved_model_export",
    "serving_heads": "mmkeras.export.saved_model_export",
    "tflite_outputs": "mmkeras.export.tflite",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
