"""Activations of pretrained checkpoints that Keras does not name: `quick_gelu` and `gelu_tanh`.

Both are registered for `.keras` serialization, so a layer built with one of them saves and
reloads with `safe_mode=True`. Pass the function itself (`activation=quick_gelu`).
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mmkeras")
def quick_gelu(x):
    """`x * sigmoid(1.702 x)`: the sigmoid approximation of GELU that OpenAI's CLIP uses.

    Example:
    >>> print(round(float(quick_gelu(keras.ops.convert_to_tensor(1.0))), 4))
    0.8458
    """
    return x * ops.sigmoid(1.702 * x)


@keras.saving.register_keras_serializable(package="mmkeras")
def gelu_tanh(x):
    """GELU by its tanh approximation (PyTorch's `gelu(approximate="tanh")`, SigLIP's activation).

    Example:
    >>> print(round(float(gelu_tanh(keras.ops.convert_to_tensor(1.0))), 4))
    0.8412
    """
    return keras.activations.gelu(x, approximate=True)


__all__ = ["gelu_tanh", "quick_gelu"]
