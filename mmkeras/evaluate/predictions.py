"""Runs a model over an evaluation set and gathers its predictions with the targets.

An evaluation set is either a batched `tf.data.Dataset` (or any iterable of batches) whose
elements are `(inputs, targets)` or `(inputs, targets, sample_weights)`, or a tuple of arrays
`(x, y)` / `(x, y, sample_weights)` that is cut into batches here. `inputs` is an array or a dict
keyed by input name; `targets` an array, or a dict keyed by output name for multi-task models.

Every batch goes through one prediction step per model (`prediction_step`), traced once and
reused by `report`, `ablation` and `mmkeras predict`.
"""

import weakref

import keras
import numpy as np

# {model: its prediction step}; weak, so that a model evaluated once is not kept alive.
_PREDICTION_STEPS = weakref.WeakKeyDictionary()


def model_input_names(model):
    """Input names of a functional model, in the order its inputs were given when it was built.

    `model.input` keeps the structure the model was built with (a dict keeps its insertion order,
    also after saving and loading), whereas `model.inputs` is a flat list sorted by name.
    """
    structure = model.input
    if isinstance(structure, dict):
        return list(structure.keys())
    return [tensor.name for tensor in keras.tree.flatten(structure)]


def output_names(model, outputs):
    """Names for the outputs of one `predict_on_batch` call, in the model's order."""
    if isinstance(outputs, dict):
        return list(outputs.keys())
    names = list(getattr(model, "output_names", None) or [])
    if isinstance(outputs, (list, tuple)):
        return names if len(names) == len(outputs) else [f"output_{i}" for i in range(len(outputs))]
    return names[:1] or ["output"]


def iterate_batches(dataset, batch_size=256):
    """Yields `(inputs, targets)` batches as numpy arrays (dicts of them where the data has dicts).

    Args:
        dataset: see the module docstring.
        batch_size: int, batch size used to cut a tuple of arrays.

    Raises:
        ValueError: when an element is not `(inputs, targets[, sample_weights])`.
    """
    if isinstance(dataset, tuple):
        if len(dataset) not in (2, 3):
            raise ValueError(
                "An evaluation set given as a tuple must be (x, y) or (x, y, sample_weights), "
                f"received a tuple of {len(dataset)} items."
            )
        x, y = dataset[0], dataset[1]
        x = keras.tree.map_structure(np.asarray, x)
        y = keras.tree.map_structure(np.asarray, y)
        num_samples = len(keras.tree.flatten(x)[0])
        for start in range(0, num_samples, batch_size):
            stop = start + batch_size
            yield (
                keras.tree.map_structure(lambda a, s=start, e=stop: a[s:e], x),
                keras.tree.map_structure(lambda a, s=start, e=stop: a[s:e], y),
            )
        return
    for index, batch in enumerate(dataset):
        if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
            raise ValueError(
                "Each element of the evaluation dataset must be (inputs, targets) or "
                f"(inputs, targets, sample_weights); element {index} is {type(batch).__name__}"
                + (f" of {len(batch)} items." if isinstance(batch, (tuple, list)) else ".")
            )
        yield (
            keras.tree.map_structure(np.asarray, batch[0]),
            keras.tree.map_structure(np.asarray, batch[1]),
        )


def select_model_inputs(model, inputs):
    """The part of a dict batch that the model takes (datasets may carry more keys).

    A missing `"present"` input is filled with ones (all modalities present).
    """
    if isinstance(inputs, dict) and isinstance(model.input, dict):
        missing = [name for name in model.input if name not in inputs and name != "present"]
        if missing:
            raise ValueError(
                f"The evaluation data has no input {missing} that the model needs; it provides "
                f"{sorted(inputs)} and the model takes {list(model.input)}."
            )
        selected = {name: inputs[name] for name in model.input if name in inputs}
        if "present" in model.input and "present" not in selected:
            # The convention of build_model: no presence mask means every modality is present.
            num_modalities = model.input["present"].shape[-1]
            batch = len(keras.tree.flatten(selected)[0])
            selected["present"] = np.ones((batch, num_modalities), dtype="float32")
        return selected
    return inputs


def prediction_step(model):
    """The function that predicts one batch with `model`: made once per model, then reused.

    Keras's `predict_on_batch` traces its step again for a new batch shape (the smaller last
    batch of an evaluation set), and TensorFlow counts the traces of every model's step together,
    so evaluating a few models in one process (a notebook comparing fusions, a search) printed
    "N out of the last N calls ... triggered tf.function retracing". On TensorFlow this step is
    one graph built for the model's own input signature, batch size left open, and called
    directly: one trace per model serves every batch of every `report`, `ablation` and
    `mmkeras predict` call, whatever the batch sizes. A model without declared inputs (a
    subclassed model) gets a `tf.function` with `reduce_retracing=True`; other backends use
    `predict_on_batch` (their trainers compile the step themselves).

    Args:
        model: a Keras model.

    Returns:
        A function `inputs -> outputs` (numpy arrays in the structure of the model's outputs);
        `inputs` must already be what the model takes (see `select_model_inputs`).
    """
    step = _PREDICTION_STEPS.get(model)
    if step is None:
        step = _make_prediction_step(model)
        _PREDICTION_STEPS[model] = step
    return step


def _make_prediction_step(model):
    if keras.backend.backend() != "tensorflow":
        return model.predict_on_batch
    import tensorflow as tf

    signature = _input_signature(model)
    # A weak reference: the step is cached with the model as a weak key, and must not keep it
    # alive. The traced graph holds the model's variables, which is all it needs.
    model_ref = weakref.ref(model)

    def predict(inputs):
        return model_ref()(inputs, training=False)

    try:
        jit_compile = bool(model.jit_compile)  # what Keras's own predict would use
    except (AttributeError, ValueError):
        jit_compile = False
    # Like Keras's own steps, not converted by AutoGraph: Keras layers are graph-ready, and
    # AutoGraph cannot read a model's class (it warns "could not transform").
    options = {"jit_compile": jit_compile, "autograph": False}
    if signature is None:
        traced = tf.function(predict, reduce_retracing=True, **options)

        def step(inputs):
            return keras.tree.map_structure(np.asarray, traced(inputs))

        return step
    # The graph is built here, once, for the model's own input signature (batch size open), and
    # then called directly: no per-call signature matching, and nothing left to retrace.
    graph = tf.function(predict, **options).get_concrete_function(signature)
    specs = keras.tree.flatten(signature)

    def step(inputs):
        if isinstance(inputs, dict) and not isinstance(signature, dict):
            # Keras also takes the inputs of a list-input model as a dict keyed by input name.
            missing = [spec.name for spec in specs if spec.name not in inputs]
            if missing:
                raise ValueError(
                    f"The batch has no input {missing}; it provides {sorted(inputs)} and the "
                    f"model takes {[spec.name for spec in specs]}."
                )
            inputs = [inputs[spec.name] for spec in specs]
        values = keras.tree.flatten(inputs)
        if len(values) != len(specs):
            raise ValueError(
                f"The model takes {len(specs)} inputs {_describe(signature)}, the batch has "
                f"{len(values)}."
            )
        # The data's dtypes may be wider (float64 arrays, int64 token ids): cast as Keras does.
        values = [
            np.asarray(value, dtype=spec.dtype.as_numpy_dtype)
            for value, spec in zip(values, specs, strict=True)
        ]
        inputs = keras.tree.pack_sequence_as(signature, values)
        return keras.tree.map_structure(np.asarray, graph(inputs))

    return step


def _input_signature(model):
    """`tf.TensorSpec`s in the structure of `model.input`, or None when it has none."""
    import tensorflow as tf

    try:
        structure = model.input
    except (AttributeError, ValueError):
        return None  # a subclassed model: no declared inputs
    try:
        return keras.tree.map_structure(
            lambda t: tf.TensorSpec(tuple(t.shape), t.dtype, name=getattr(t, "name", None)),
            structure,
        )
    except (AttributeError, TypeError, ValueError):
        return None


def _describe(signature):
    if isinstance(signature, dict):
        return sorted(signature)
    return [tuple(s.shape) for s in keras.tree.flatten(signature)]


def name_outputs(model, outputs):
    """Outputs of one batch (the model's output structure) as a dict `{output name: array}`."""
    names = output_names(model, outputs)
    if isinstance(outputs, dict):
        return {name: np.asarray(outputs[name]) for name in names}
    if isinstance(outputs, (list, tuple)):
        return {name: np.asarray(value) for name, value in zip(names, outputs, strict=True)}
    return {names[0]: np.asarray(outputs)}


def predict_batch(model, inputs):
    """Predictions of one batch as a dict `{output name: array}`."""
    outputs = prediction_step(model)(select_model_inputs(model, inputs))
    return name_outputs(model, outputs)


def match_targets(names, targets):
    """Targets of one batch as a dict keyed like the outputs.

    Raises:
        ValueError: when the targets cannot be matched to the model's outputs.
    """
    if isinstance(targets, dict):
        missing = [name for name in names if name not in targets]
        if missing:
            raise ValueError(
                f"The targets have no entry for the model output(s) {missing}; target keys are "
                f"{sorted(targets)}, model outputs are {names}."
            )
        return {name: np.asarray(targets[name]) for name in names}
    if isinstance(targets, (list, tuple)):
        if len(targets) != len(names):
            raise ValueError(
                f"The model has {len(names)} outputs {names} but the targets are a sequence of "
                f"{len(targets)}."
            )
        return {name: np.asarray(value) for name, value in zip(names, targets, strict=True)}
    if len(names) != 1:
        raise ValueError(
            f"The model has {len(names)} outputs {names}: give the targets as a dict keyed by "
            "output name."
        )
    return {names[0]: np.asarray(targets)}


def collect_predictions(model, dataset, batch_size=256):
    """Runs `model` over `dataset`.

    Args:
        model: a Keras model.
        dataset: see the module docstring.
        batch_size: int, batch size used to cut a tuple of arrays.

    Returns:
        `(predictions, targets)`: two dicts `{output name: array (N, ...)}` with the same keys,
        in the model's output order.

    Raises:
        ValueError: when the data holds no batch, or targets do not match the outputs.
    """
    predictions, targets = {}, {}
    for inputs, batch_targets in iterate_batches(dataset, batch_size):
        batch_predictions = predict_batch(model, inputs)
        batch_targets = match_targets(list(batch_predictions), batch_targets)
        for name, value in batch_predictions.items():
            predictions.setdefault(name, []).append(value)
            targets.setdefault(name, []).append(batch_targets[name])
    if not predictions:
        raise ValueError("The evaluation data holds no batch: nothing to evaluate.")
    return (
        {name: np.concatenate(values) for name, values in predictions.items()},
        {name: np.concatenate(values) for name, values in targets.items()},
    )
