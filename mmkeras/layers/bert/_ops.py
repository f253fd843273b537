"""Argument checks and numerics shared by the BERT layers."""

from keras import ops

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


def check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive int; received {name}={value!r}.")


def check_rate(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"`{name}` must be a float in [0, 1); received {name}={value!r}.")


def check_epsilon(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(
            f"`layer_norm_epsilon` must be a float > 0; received layer_norm_epsilon={value!r}."
        )


def check_activation(value):
    if value not in ACTIVATIONS:
        raise ValueError(
            f"`activation` must be one of {ACTIVATIONS}; received activation={value!r}."
        )


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
