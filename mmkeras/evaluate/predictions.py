"""Runs a model over an evaluation set and gathers its predictions with the targets.

An evaluation set is either a batched `tf.data.Dataset` (or any iterable of batches) whose
elements are `(inputs, targets)` or `(inputs, targets, sample_weights)`, or a tuple of arrays
`(x, y)` / `(x, y, sample_weights)` that is cut into batches here. `inputs` is an array or a dict
keyed by input name; `targets` an array, or a dict keyed by output name for multi-task models.
"""

import keras
import numpy as np


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


def predict_batch(model, inputs):
    """Predictions of one batch as a dict `{output name: array}`."""
    outputs = model.predict_on_batch(select_model_inputs(model, inputs))
    names = output_names(model, outputs)
    if isinstance(outputs, dict):
        return {name: np.asarray(outputs[name]) for name in names}
    if isinstance(outputs, (list, tuple)):
        return {name: np.asarray(value) for name, value in zip(names, outputs, strict=True)}
    return {names[0]: np.asarray(outputs)}


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
