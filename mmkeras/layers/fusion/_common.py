"""Helpers shared by the fusion layers: presence masks, masked reductions, argument checks.

The fusion call contract is `layer(features, mask=present)`: `features` a list of `M` tensors,
`mask` an optional `(batch, M)` presence mask. Keras fills `mask` in on its own when a caller
passes nothing (or `None` from an optional functional input): it then arrives as the list of the
inputs' own Keras masks, usually `[None, None, ...]`. `presence_mask` turns every accepted form
into one float tensor `(batch, M)` with 1.0 where a modality is present.
"""

import keras
from keras import ops

from mmkeras.argument_checks import is_positive_int, is_rate

# Large enough that exp(score - max) underflows to exactly 0 in float32, where softmaxes run.
_NEGATIVE_SENTINEL = -1e9


# The fusion layers word argument errors as Keras's own layers do ("... Received: name=value");
# what is valid is decided by `mmkeras.argument_checks`, as everywhere else.
def _argument_error(layer_name, arg_name, value, allowed):
    return ValueError(
        f"{layer_name}: `{arg_name}` must be {allowed}. Received: {arg_name}={value!r}"
    )


def check_positive_int(layer_name, arg_name, value, allow_none=False):
    """Returns `value`; raises a `ValueError` unless it is a positive int (or None when allowed)."""
    if not (value is None and allow_none) and not is_positive_int(value):
        allowed = "a positive int or None" if allow_none else "a positive int"
        raise _argument_error(layer_name, arg_name, value, allowed)
    return value


def check_rate(layer_name, arg_name, value, allow_one=False):
    """Returns `value`; raises a `ValueError` unless it is a float in [0, 1) ([0, 1] if allowed)."""
    if not is_rate(value, allow_one):
        interval = "[0, 1]" if allow_one else "[0, 1)"
        raise _argument_error(layer_name, arg_name, value, f"a float in {interval}")
    return value


def check_choice(layer_name, arg_name, value, choices):
    """Returns `value`; raises a `ValueError` unless it is one of `choices`."""
    if value not in choices:
        raise _argument_error(layer_name, arg_name, value, f"one of {sorted(choices)}")
    return value


def check_activation(layer_name, arg_name, value):
    """Returns `value`; raises a `ValueError` unless it names a Keras activation (or is None / callable)."""
    if value is None or callable(value):
        return value
    try:
        keras.activations.get(value)
    except (ValueError, TypeError) as error:
        allowed = "None or a Keras activation name such as 'relu' or 'tanh'"
        raise _argument_error(layer_name, arg_name, value, allowed) from error
    return value


def feature_shapes(layer_name, input_shape, rank, min_modalities=1):
    """Validates the list of input shapes of a fusion layer and returns it as a list of tuples.

    Args:
        layer_name: class name used in error messages.
        input_shape: the shapes Keras passes to `build` / `compute_output_shape`.
        rank: the rank every feature must have (2 for `(batch, dim)`, 3 for sequences), or
            None for any rank.
        min_modalities: the least number of inputs accepted.
    """
    is_single_shape = isinstance(input_shape, (list, tuple)) and (
        len(input_shape) == 0 or not isinstance(input_shape[0], (list, tuple))
    )
    if not isinstance(input_shape, (list, tuple)) or is_single_shape:
        raise ValueError(
            f"{layer_name} expects a list of {min_modalities} or more feature tensors, one per "
            f"modality. Received a single input of shape {input_shape!r}"
        )
    shapes = [tuple(shape) for shape in input_shape]
    if len(shapes) < min_modalities:
        raise ValueError(
            f"{layer_name} expects at least {min_modalities} feature tensors. Received {len(shapes)} "
            f"with shapes {shapes}"
        )
    if rank is None:
        return shapes
    expected = "(batch, dim)" if rank == 2 else "(batch, steps, dim)"
    for index, shape in enumerate(shapes):
        if len(shape) != rank or shape[-1] is None:
            raise ValueError(
                f"{layer_name}: feature {index} must have shape {expected} with a known last "
                f"dimension. Received shape {shape}"
            )
    return shapes


def _is_all_none(value):
    return all(entry is None for entry in value)


def presence_mask(layer_name, mask, features, dtype):
    """Returns the presence mask as a float tensor `(batch, M)`, or None when every modality is present.

    Args:
        layer_name: class name used in error messages.
        mask: None, a `(batch, M)` bool / 0-1 tensor, or a list of `M` tensors `(batch,)` /
            `(batch, 1)` (a list whose entries are all None means "no mask").
        features: the list of feature tensors (for `M`).
        dtype: dtype of the returned mask.
    """
    num_modalities = len(features)
    if mask is None:
        return None
    if isinstance(mask, (list, tuple)):
        if _is_all_none(mask):
            return None
        if len(mask) != num_modalities or any(entry is None for entry in mask):
            raise ValueError(
                f"{layer_name}: a list `mask` must hold one presence tensor `(batch,)` per "
                f"modality ({num_modalities}). Received a list of {len(mask)} entries: {mask!r}"
            )
        columns = []
        for entry in mask:
            entry = ops.convert_to_tensor(entry)
            if len(entry.shape) == 2 and entry.shape[-1] == 1:
                entry = ops.squeeze(entry, axis=-1)
            if len(entry.shape) != 1:
                raise ValueError(
                    f"{layer_name}: each entry of a list `mask` must have shape (batch,) or "
                    f"(batch, 1). Received an entry of shape {entry.shape}"
                )
            columns.append(ops.cast(entry, dtype))
        return ops.stack(columns, axis=-1)
    mask = ops.convert_to_tensor(mask)
    if len(mask.shape) != 2 or mask.shape[-1] not in (None, num_modalities):
        raise ValueError(
            f"{layer_name}: `mask` must have shape (batch, {num_modalities}), one column per "
            f"modality. Received shape {mask.shape}"
        )
    if mask.dtype != "bool":
        # Any value above 0.5 counts as present so that soft 0/1 floats behave like bools.
        mask = ops.greater(mask, ops.cast(0.5, mask.dtype))
    return ops.cast(mask, dtype)


def presence_or_ones(layer_name, mask, features, dtype):
    """Like `presence_mask`, but returns an all-ones mask when none is given."""
    present = presence_mask(layer_name, mask, features, dtype)
    if present is None:
        batch_size = ops.shape(features[0])[0]
        present = ops.ones((batch_size, len(features)), dtype=dtype)
    return present


def zero_absent(feature, present_column):
    """Zeros `feature` where `present_column` (`(batch,)` or broadcastable) is 0.

    With `present_column=None` (no presence mask) the feature is returned as it is, so a model
    called without a mask pays nothing for masking.

    `ops.where` is used, not a product, so that NaN or inf values in an absent slot cannot leak
    into the output or its gradients.
    """
    if present_column is None:  # no mask given: every modality is present
        return feature
    condition = ops.greater(present_column, 0)
    while len(condition.shape) < len(feature.shape):
        condition = ops.expand_dims(condition, axis=-1)
    return ops.where(condition, feature, ops.zeros_like(feature))


def masked_softmax(scores, valid, axis=-1):
    """Softmax over the entries where `valid` is True, exactly 0 elsewhere.

    A slice with no valid entry gets all-zero weights instead of a uniform (or NaN) distribution.
    The computation runs in float32, as mixed-precision softmaxes should, and is cast back.

    Args:
        scores: float tensor.
        valid: bool tensor broadcastable to `scores`.
        axis: the axis to normalise over.
    """
    out_dtype = scores.dtype
    scores = ops.cast(scores, "float32")
    valid = ops.logical_and(valid, ops.ones_like(scores, dtype="bool"))
    sentinel = ops.full_like(scores, _NEGATIVE_SENTINEL)
    masked = ops.where(valid, scores, sentinel)
    row_max = ops.stop_gradient(ops.max(masked, axis=axis, keepdims=True))
    # Shift inside `where` so that no exp ever sees a large positive value, even for ignored slots.
    exps = ops.exp(ops.where(valid, masked - row_max, sentinel))
    exps = exps * ops.cast(valid, "float32")
    total = ops.sum(exps, axis=axis, keepdims=True)
    safe_total = ops.where(total > 0, total, ops.ones_like(total))
    return ops.cast(exps / safe_total, out_dtype)


def masked_mean(values, weights, axis):
    """Mean of `values` over `axis` weighted by 0/1 `weights`; 0 where no weight is set.

    Args:
        values: tensor, e.g. `(batch, M, units)`.
        weights: 0/1 tensor broadcastable to `values` after expanding trailing axes, e.g. `(batch, M)`.
        axis: the axis to average over.
    """
    weights = ops.cast(weights, values.dtype)
    while len(weights.shape) < len(values.shape):
        weights = ops.expand_dims(weights, axis=-1)
    masked_values = ops.where(weights > 0, values, ops.zeros_like(values))
    total = ops.sum(masked_values * weights, axis=axis)
    count = ops.sum(weights, axis=axis)
    return total / ops.maximum(count, ops.ones_like(count))


def build_projections(layer, shapes, units, activation=None, prefix="projection"):
    """Builds one `Dense(units)` per modality for `layer`; returns the list.

    The sublayers are named `{prefix}_{index}` and follow `layer`'s dtype policy, so their
    weights keep the same paths in saved files whichever fusion layer owns them.
    """
    projections = []
    for index, shape in enumerate(shapes):
        projection = keras.layers.Dense(
            units, activation=activation, dtype=layer.dtype_policy, name=f"{prefix}_{index}"
        )
        projection.build(shape)
        projections.append(projection)
    return projections
