"""Argument checks and numerics shared by the BERT layers."""

import math

from keras import ops

from mmkeras.argument_checks import check_choice, check_positive_number

_SQRT_HALF = math.sqrt(0.5)

# `hidden_act` values of Hugging Face configs, mapped to Keras activations. "gelu" is the exact
# erf form; the tanh approximation is a different function and changes the outputs by ~1e-4.
ACTIVATIONS = (
    "gelu",
    "gelu_new",
    "gelu_pytorch_tanh",
    "gelu_fast",
    "relu",
    "silu",
    "swish",
    "tanh",
)


def check_epsilon(value):
    """Checks the `layer_norm_epsilon` argument (a number > 0)."""
    return check_positive_number("layer_norm_epsilon", value)


def check_activation(value):
    """Checks the `activation` argument (a Hugging Face `hidden_act` in `ACTIVATIONS`)."""
    return check_choice("activation", value, ACTIVATIONS)


def exact_gelu(x):
    """GELU with the Gauss error function, `x * 0.5 * (1 + erf(x / sqrt(2)))`.

    The reference's own formula. On TensorFlow it takes about two thirds of the time of
    `ops.gelu(x, approximate=False)`, which computes `erfc` instead: that keeps relative accuracy
    far in the negative tail, but both are within 1e-6 of the exact values.
    """
    return x * ops.cast(0.5, x.dtype) * (1.0 + ops.erf(x * ops.cast(_SQRT_HALF, x.dtype)))


def activate(x, name):
    """Applies a Hugging Face `hidden_act` by name."""
    if name == "gelu":
        return exact_gelu(x)
    if name in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        return ops.gelu(x, approximate=True)
    if name == "relu":
        return ops.relu(x)
    if name in ("silu", "swish"):
        return ops.silu(x)
    return ops.tanh(x)


def layer_norm(x, gamma, beta, epsilon):
    """Layer normalisation over the last axis, with statistics in float32 (as the reference)."""
    dtype = x.dtype
    x32 = ops.cast(x, "float32")
    mean = ops.mean(x32, axis=-1, keepdims=True)
    variance = ops.mean(ops.square(x32 - mean), axis=-1, keepdims=True)
    normed = ops.cast((x32 - mean) / ops.sqrt(variance + epsilon), dtype)
    return normed * ops.cast(gamma, dtype) + ops.cast(beta, dtype)
