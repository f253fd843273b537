"""TFLite conversion of an exported model, with optional float16 / int8 compression."""

import os
import re
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from mmkeras.export.saved_model_export import serving_heads, tensor_input_specs
from mmkeras.export.tflite_conversion_error import TFLiteConversionError

QUANTIZATIONS = (None, "float16", "int8")
SIGNATURES = ("auto", "raw", "tensors")
_OP_PATTERN = re.compile(r"'(tf\.[A-Za-z0-9_]+)'")
# Ops the converter names while failing for a different reason (control flow, calls).
_NOT_THE_CAUSE = {"tf.StatefulPartitionedCall", "tf.PartitionedCall", "tf.While", "tf.If"}


def _unsupported_ops(message):
    ops = []
    for op in _OP_PATTERN.findall(message):
        if op not in _NOT_THE_CAUSE and op not in ops:
            ops.append(op)
    return ops


def _fixed_batch(specs):
    # TFLite runs one example per call; a static batch lets recurrent layers convert to
    # builtin kernels instead of dynamic tensor lists.
    return {n: tf.TensorSpec((1, *s.shape[1:]), s.dtype, name=n) for n, s in specs.items()}


def _write_source(model, pipeline, kind, folder):
    import keras

    heads = serving_heads(model, pipeline)
    single = len(heads) == 1

    def numeric_outputs(inputs):
        outputs = model(inputs, training=False)
        if single and not isinstance(outputs, dict):
            outputs = {heads[0].task: outputs}
        result = {}
        for head in heads:
            name = head.output_names[0]
            result[name] = tf.cast(outputs[head.task], tf.float32)
        return result

    archive = keras.export.ExportArchive()
    archive.track(model)
    if kind == "raw":
        for resource in pipeline.trackables():
            archive.track(resource)
        specs = _fixed_batch(pipeline.raw_input_specs())

        def fn(raw):
            return numeric_outputs(pipeline.preprocess(dict(raw)))

    else:
        specs = _fixed_batch(tensor_input_specs(pipeline))

        def fn(inputs):
            return numeric_outputs(dict(inputs))

    archive.add_endpoint("serving_default", fn, input_signature=[specs])
    archive.write_out(folder, verbose=False)
    return specs


def _convert(folder, quantize):
    converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=["serving_default"])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def convert_tflite(model, pipeline, signature="auto", quantize=None):
    """Converts a model to TFLite flatbuffer bytes (builtin ops only, one example per call).

    Args:
        model: the Keras model (a `MultimodalModel`).
        pipeline: its adapted `mmkeras.data.Pipeline`.
        signature: `"raw"` (raw bytes and strings in, preprocessing inside: possible only when
            TFLite has kernels for every preprocessing op, which tensorflow-text tokenizers and
            image / WAV decoding do not have), `"tensors"` (the model's preprocessed input
            tensors, as `pipeline.input_specs()` describes, batch 1), or `"auto"` (raw if it
            converts, else tensors).
        quantize: None (float32), `"float16"` (weights stored as float16) or `"int8"`
            (dynamic-range quantization: int8 weights, float activations).

    Returns:
        `(flatbuffer bytes, used signature, unsupported ops of the raw signature)`; outputs are
        `probabilities` (or `values`, task-prefixed for several tasks); labels are in
        `metadata.json` / `serving_heads`.

    Raises:
        TFLiteConversionError: naming the ops TFLite cannot run.
    """
    if signature not in SIGNATURES:
        raise ValueError(f"tflite: `signature` must be one of {SIGNATURES}, got {signature!r}.")
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"tflite: `quantize` must be one of {QUANTIZATIONS}, got {quantize!r}.")
    raw_ops = []
    work = tempfile.mkdtemp(prefix="mmkeras-tflite-")
    try:
        if signature in ("raw", "auto"):
            folder = os.path.join(work, "raw")
            _write_source(model, pipeline, "raw", folder)
            try:
                return _convert(folder, quantize), "raw", []
            except Exception as e:  # noqa: BLE001 - the converter raises several error types
                raw_ops = _unsupported_ops(str(e))
                if signature == "raw":
                    specs = tensor_input_specs(pipeline)
                    described = ", ".join(
                        f"{n}: {s.dtype.name} {(1, *s.shape[1:])}" for n, s in specs.items()
                    )
                    raise TFLiteConversionError(
                        "TFLite has no builtin kernels for these ops of the raw-input signature: "
                        f"{', '.join(raw_ops) or 'see the converter message below'}. "
                        "Text tokenization (tensorflow-text) and image / WAV decoding usually "
                        "cannot run in TFLite. Convert the tensor signature instead "
                        f"(signature='tensors', `--signature tensors`), which takes {described}, "
                        "and preprocess on the device.\nConverter: "
                        + str(e).strip().splitlines()[-1][:500],
                        raw_ops,
                    ) from e
        folder = os.path.join(work, "tensors")
        _write_source(model, pipeline, "tensors", folder)
        try:
            return _convert(folder, quantize), "tensors", raw_ops
        except Exception as e:  # noqa: BLE001
            ops = _unsupported_ops(str(e))
            raise TFLiteConversionError(
                "TFLite cannot convert the model itself (tensor signature): unsupported ops "
                f"{', '.join(ops) or '(see below)'}. Serve the SavedModel instead.\nConverter: "
                + str(e).strip().splitlines()[-1][:500],
                ops,
            ) from e
    finally:
        shutil.rmtree(work, ignore_errors=True)


def tflite_outputs(flatbuffer, inputs):
    """Runs a TFLite model (signature `serving_default`) on a batch, one example per call.

    Args:
        flatbuffer: bytes from `convert_tflite`.
        inputs: dict `{name: numpy array (B, ...)}` matching its input signature.

    Returns:
        dict `{output name: numpy array (B, ...)}`.
    """
    interpreter = tf.lite.Interpreter(model_content=flatbuffer)
    runner = interpreter.get_signature_runner("serving_default")
    details = runner.get_input_details()
    n = len(next(iter(inputs.values())))
    parts = []
    for i in range(n):
        example = {
            name: np.asarray(inputs[name][i : i + 1]).astype(details[name]["dtype"])
            for name in details
        }
        parts.append(runner(**example))
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def _metric(head, values, targets):
    if head.kind == "regression":
        return "mae", float(np.mean(np.abs(values - targets.reshape(values.shape))))
    if head.kind == "binary":
        pred = (values[:, 0] >= head.threshold).astype(np.int64)
        return "accuracy", float(np.mean(pred == targets.reshape(-1).astype(np.int64)))
    if head.kind == "multilabel":
        return "label_accuracy", float(np.mean((values >= head.threshold) == (targets > 0.5)))
    return "accuracy", float(np.mean(np.argmax(values, -1) == targets.reshape(-1)))


def compare_tflite(model, pipeline, flatbuffers, manifest, batch_size=32):
    """Metrics of the Keras model and of TFLite models (tensor signature) on a manifest.

    Args:
        model: the Keras model.
        pipeline: its adapted pipeline.
        flatbuffers: dict `{variant name: flatbuffer bytes}` (tensor-signature conversions).
        manifest: a labelled manifest; rows that cannot be used are skipped.
        batch_size: batch size of the evaluation dataset.

    Returns:
        dict `{variant: {task: {metric name: value, "max_abs_diff": float}}}`, where `"keras"` is
        the Keras model and `max_abs_diff` is the largest difference to the Keras outputs.
    """
    heads = serving_heads(model, pipeline)
    ds = pipeline.dataset(
        manifest, training=False, batch_size=batch_size, errors="skip", verbose=False
    )
    inputs, targets = {}, {}
    for x, y in ds:
        for name, value in x.items():
            inputs.setdefault(name, []).append(value.numpy())
        y = y if isinstance(y, dict) else {heads[0].task: y}
        for name, value in y.items():
            targets.setdefault(name, []).append(value.numpy())
    inputs = {n: np.concatenate(v) for n, v in inputs.items()}
    targets = {n: np.concatenate(v) for n, v in targets.items()}
    reference = model.predict(inputs, verbose=0, batch_size=batch_size)
    if not isinstance(reference, dict):
        reference = {heads[0].task: reference}
    results = {"keras": {}}
    for head in heads:
        name, value = _metric(head, np.asarray(reference[head.task]), targets[head.task])
        results["keras"][head.task] = {name: value, "max_abs_diff": 0.0}
    for variant, flatbuffer in flatbuffers.items():
        outputs = tflite_outputs(flatbuffer, inputs)
        results[variant] = {}
        for head in heads:
            values = outputs[head.output_names[0]]
            name, value = _metric(head, values, targets[head.task])
            diff = float(np.max(np.abs(values - np.asarray(reference[head.task]))))
            results[variant][head.task] = {name: value, "max_abs_diff": diff}
    return results
