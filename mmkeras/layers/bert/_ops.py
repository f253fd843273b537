"""Argument checks and numerics shared by the BERT layers."""

from keras import ops

from mmkeras.argument_checks import check_choice, check_positive_number

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


def activate(x, name):
    """Applies a Hugging Face `hidden_act` by name."""
    if name == "gelu":
        return ops.gelu(x, approximate=False)
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
