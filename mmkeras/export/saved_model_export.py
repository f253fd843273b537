"""`saved_model`: a SavedModel whose default signature takes raw bytes and strings."""

import os

import tensorflow as tf

from mmkeras.atomic_files import write_directory_atomically
from mmkeras.export.metadata import build_metadata, write_metadata
from mmkeras.export.request_checks import check_raw_request
from mmkeras.export.serving_head import ServingHead
from mmkeras.names import CLASSIFICATION, HEAD_TASK_KINDS

PRESENT = "present"


def _task_kind(task):
    kind = getattr(task, "kind", None)
    if kind == CLASSIFICATION:
        return "binary" if task.binary else kind
    if kind in HEAD_TASK_KINDS:
        return kind
    raise TypeError(
        f"export: task {task.name!r} is a {type(task).__name__}; exports know Classification, "
        "MultiLabel and Regression."
    )


def _pipeline_target(pipeline, task_name, num_tasks):
    if task_name in pipeline.target_names:
        return task_name
    if num_tasks == 1 and len(pipeline.target_names) == 1:
        return pipeline.target_names[0]
    return None


def serving_heads(model, pipeline):
    """One `ServingHead` per task of `model`, with class names from the pipeline's label index.

    Class names come from the pipeline's target of the task's name (or its only target, for a
    single-task model), else from the task (`class_names` / `label_names`), else "0", "1", ...

    Raises:
        ValueError: the label index and the task disagree on the number of classes.
    """
    tasks = dict(model.tasks)
    single = len(tasks) == 1
    heads = []
    for name, task in tasks.items():
        kind = _task_kind(task)
        target = _pipeline_target(pipeline, name, len(tasks))
        names, separator = None, "|"
        if target is not None:
            spec = pipeline.specs[target]
            separator = spec.separator
            if kind != "regression":
                names = pipeline.labels if len(pipeline.target_names) == 1 else None
                if names is None:
                    names = pipeline.labels[target]
                names = list(names) or None
        if kind != "regression" and names is None:
            names = getattr(task, "class_names", None) or getattr(task, "label_names", None)
        units = 2 if kind == "binary" else task.output_units
        if kind != "regression":
            names = list(names) if names else [str(i) for i in range(units)]
            if len(names) != units:
                raise ValueError(
                    f"export: task {name!r} has {units} classes but the label index has "
                    f"{len(names)} ({names}); export the model with the pipeline it was trained on."
                )
        heads.append(
            ServingHead(
                name,
                kind,
                names,
                prefix="" if single else f"{name}_",
                threshold=getattr(task, "threshold", 0.5),
                separator=separator,
            )
        )
    return heads


def _check_compatible(model, pipeline):
    modalities = list(getattr(model, "modalities", []))
    if not modalities:
        raise TypeError(
            "export: `model` must be a multimodal model built by `mmkeras.build_model` "
            f"(with `modalities` and `tasks`), received {type(model).__name__}."
        )
    if sorted(modalities) != sorted(pipeline.input_names):
        raise ValueError(
            f"export: the model's inputs {modalities} and the pipeline's inputs "
            f"{pipeline.input_names} differ; export a model with the pipeline it was trained on."
        )
    model_inputs = {t.name.split(":")[0]: t for t in model.inputs}
    for name, entry in pipeline.input_specs().items():
        if name == PRESENT or name not in model_inputs:
            continue
        model_shape = tuple(model_inputs[name].shape[1:])
        ok = len(model_shape) == len(entry["shape"]) and all(
            m is None or m == p for m, p in zip(model_shape, entry["shape"], strict=True)
        )
        if not ok:
            raise ValueError(
                f"export: input {name!r}: the pipeline yields shape {tuple(entry['shape'])} but "
                f"the model takes {model_shape}."
            )


def tensor_input_specs(pipeline):
    """`{name: tf.TensorSpec}` of the preprocessed model inputs (the second signature)."""
    return {
        name: tf.TensorSpec((None, *entry["shape"]), entry["dtype"], name=name)
        for name, entry in pipeline.input_specs().items()
    }


def _model_dtypes(model):
    out = {}
    for tensor in model.inputs:
        out[tensor.name.split(":")[0]] = tensor.dtype
    return out


def saved_model(model, pipeline, path, overwrite=True, verbose=False):
    """Exports `model` with its preprocessing as a TensorFlow SavedModel.

    Signatures:

    - `serving_default`: raw inputs, one per model input: encoded image bytes and WAV bytes
      (tf.string `(B,)`), texts (tf.string `(B,)`), tabular features (float32 `(B, F)`). Decoding,
      resizing, tokenization and audio framing run in the graph, by the pipeline's own
      `preprocess` (the function its evaluation datasets use), so serving sees exactly the
      tensors evaluation saw. With `allow_missing=True` an empty string (NaN row for tabular)
      marks an input absent. Outputs: `probabilities` and `label` (classification),
      `probabilities` and `labels` (multi-label), `values` (regression); for several tasks each
      name is prefixed by the task name (`digit_probabilities`, ...).
    - `serving_preprocessed`: the model's input tensors (as `pipeline.input_specs()` describes),
      same outputs, for users who preprocess elsewhere.
    - `preprocess`: raw inputs to the model's input tensors.

    A request that cannot be served (empty batch, a wrong shape, bytes that are not an image /
    16-bit PCM WAV file, an image over the spec's `max_pixels` or audio over its `max_duration`
    -- both read from the file headers before anything is decoded --, text that is not UTF-8,
    a missing input the model cannot do without) fails with an `InvalidArgumentError` whose
    message names the input and the elements and says what is allowed; the serving process
    keeps running. The `preprocess` signature runs the same checks.

    `metadata.json` beside `saved_model.pb` holds the labels, the input schema, the
    preprocessing specs and the versions of mmkeras, TensorFlow and Keras. The directory is
    written under a temporary name and renamed: an existing export is replaced whole or not at
    all; a full disk raises `mmkeras.errors.DiskFullError` and leaves the old export in place. The
    SavedModel loads with TensorFlow and tensorflow-text alone (no mmkeras).

    Args:
        model: a model built by `mmkeras.build_model` (a `MultimodalModel`).
        pipeline: the adapted `mmkeras.data.Pipeline` it was trained with.
        path: the export directory.
        overwrite: replace an existing export at `path`.
        verbose: print the tracked variables while writing.

    Returns:
        The absolute export path.

    Example:
    >>> mmkeras.export.saved_model(model, pipe, "exported/")
    >>> m = tf.saved_model.load("exported/")
    >>> m.signatures["serving_default"](image=tf.constant([jpeg_bytes]), text=tf.constant(["a cat"]))
    """
    import keras

    if not pipeline.adapted:
        raise ValueError(
            "export: the pipeline has not been adapted (no vocabulary or label index); pass the "
            "pipeline the model was trained with (`Pipeline.load(run_dir + '/pipeline')`)."
        )
    _check_compatible(model, pipeline)
    heads = serving_heads(model, pipeline)
    raw_specs = pipeline.raw_input_specs()
    tensor_specs = tensor_input_specs(pipeline)
    dtypes = _model_dtypes(model)
    single = len(heads) == 1

    def predict(inputs):
        inputs = {
            name: tf.cast(value, dtypes[name]) if name in dtypes else value
            for name, value in inputs.items()
        }
        outputs = model(inputs, training=False)
        if single and not isinstance(outputs, dict):
            outputs = {heads[0].task: outputs}
        result = {}
        for head in heads:
            result.update(head.outputs(outputs[head.task]))
        return result

    def checked_preprocess(raw):
        # Nothing is decoded before every check passed (sizes and durations come from headers).
        checks = check_raw_request(raw, pipeline)
        with tf.control_dependencies(checks):
            raw = {name: tf.identity(value) for name, value in raw.items()}
        return pipeline.preprocess(raw)

    def serve_raw(raw):
        return predict(checked_preprocess(raw))

    def serve_tensors(inputs):
        return predict(dict(inputs))

    def preprocess(raw):
        return checked_preprocess(dict(raw))

    archive = keras.export.ExportArchive()
    archive.track(model)
    for resource in pipeline.trackables():
        archive.track(resource)
    raw_fn = archive.add_endpoint("serving_default", serve_raw, input_signature=[raw_specs])
    archive.add_endpoint("serving_preprocessed", serve_tensors, input_signature=[tensor_specs])
    archive.add_endpoint("preprocess", preprocess, input_signature=[raw_specs])
    output_specs = raw_fn.get_concrete_function(raw_specs).structured_outputs
    output_specs = {
        name: tf.TensorSpec(spec.shape, spec.dtype, name=name)
        for name, spec in output_specs.items()
    }
    metadata = build_metadata(model, pipeline, heads, raw_specs, tensor_specs, output_specs)

    def build(tmp):
        archive.write_out(tmp, verbose=verbose)
        write_metadata(metadata, tmp)

    return write_directory_atomically(build, os.fspath(path), overwrite=overwrite)
