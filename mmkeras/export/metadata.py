"""`metadata.json` of an export: labels, input schema, preprocessing and versions."""

import datetime
import importlib.metadata
import json
import os

METADATA_FILE = "metadata.json"
FORMAT_VERSION = 1
_ABSENT = {"tabular": "NaN row", "categorical": "row of empty strings"}


def _version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _spec_json(spec):
    return {"dtype": spec.dtype.name, "shape": [None if d is None else int(d) for d in spec.shape]}


def build_metadata(model, pipeline, heads, raw_specs, tensor_specs, output_specs):
    """Describes an export for its users (and for `mmkeras.export.load`).

    Args:
        model: the exported Keras model.
        pipeline: its `mmkeras.data.Pipeline`.
        heads: list of `ServingHead`, one per task.
        raw_specs: `{name: tf.TensorSpec}` of the raw signature.
        tensor_specs: `{name: tf.TensorSpec}` of the preprocessed-tensor signature.
        output_specs: `{name: tf.TensorSpec}` of the outputs (the same for both signatures).

    Returns:
        A JSON-ready dict.
    """
    import keras
    import tensorflow as tf

    from mmkeras.version import __version__

    config = pipeline.get_config()
    inputs = {}
    for name, spec in raw_specs.items():
        modality = pipeline.modality(name)
        entry = {**_spec_json(spec), "modality": modality, "column": pipeline.schema[name]}
        if modality in ("image", "audio"):
            entry["content"] = "encoded file bytes"
        spec_config = pipeline.specs[name].get_config()
        if modality == "image":
            entry["max_pixels"] = spec_config["max_pixels"]
        elif modality == "audio":
            entry["max_duration"] = spec_config["max_duration"]
        elif modality == "text":
            entry["content"] = "UTF-8 text"
        elif modality == "categorical":
            entry["content"] = "category strings, in the order of `column`"
        else:
            entry["content"] = "feature values, in the order of `column`"
        if pipeline.allow_missing:
            entry["absent"] = _ABSENT.get(modality, "empty string")
        inputs[name] = entry
    labels = {h.task: h.class_names for h in heads if h.class_names is not None}
    return {
        "format_version": FORMAT_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "model_name": model.name,
        "signatures": {
            "serving_default": {
                "inputs": inputs,
                "outputs": {n: _spec_json(s) for n, s in output_specs.items()},
            },
            "serving_preprocessed": {
                "inputs": {n: _spec_json(s) for n, s in tensor_specs.items()},
                "outputs": {n: _spec_json(s) for n, s in output_specs.items()},
            },
            "preprocess": {
                "inputs": {n: _spec_json(s) for n, s in raw_specs.items()},
                "outputs": {n: _spec_json(s) for n, s in tensor_specs.items()},
            },
        },
        "tasks": [h.describe() for h in heads],
        "labels": labels,
        "allow_missing": pipeline.allow_missing,
        "preprocessing": {"schema": config["schema"], "specs": config["specs"]},
        "requires": ["tensorflow", "tensorflow-text"],
        "versions": {
            "mmkeras": __version__,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "tensorflow-text": _version("tensorflow-text"),
        },
    }


def read_metadata(path):
    """Reads the `metadata.json` of the export directory `path`."""
    file = os.path.join(os.fspath(path), METADATA_FILE)
    if not os.path.isfile(file):
        raise FileNotFoundError(
            f"{path} is not an mmkeras export: it has no {METADATA_FILE} "
            "(write one with `mmkeras export RUN_DIR OUT` or `mmkeras.export.saved_model`)."
        )
    with open(file, encoding="utf-8") as f:
        return json.load(f)


def write_metadata(metadata, directory):
    """Writes `metadata` as `metadata.json` into `directory` (a folder being built)."""
    with open(os.path.join(directory, METADATA_FILE), "w", encoding="utf-8") as f:
        json.dump(metadata, f, indent=2)
        f.write("\n")
