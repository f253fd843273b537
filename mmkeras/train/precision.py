"""Mixed precision: picks the dtype policy for the device and restores the old one after."""

import contextlib

MODES = ("off", "auto", "mixed_float16", "mixed_bfloat16")


def resolve_precision(mode, strategy_name="default"):
    """The Keras dtype policy name for a config's `mixed_precision` on this machine.

    `auto` gives `mixed_float16` on a GPU with float16 tensor cores (compute capability 7.0 or
    more), `mixed_bfloat16` on a TPU, and `float32` elsewhere: on a CPU, bfloat16 made training
    no faster and no more accurate in `benchmarks/mixed_precision.py` (docs/training.md), and
    older GPUs emulate float16. `off` gives `float32`.
    """
    if mode not in MODES:
        raise ValueError(f"Unknown mixed_precision {mode!r}; allowed: {', '.join(MODES)}.")
    if mode == "off":
        return "float32"
    if mode != "auto":
        return mode
    if strategy_name == "tpu":
        return "mixed_bfloat16"
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if capability and tuple(capability) >= (7, 0):
            return "mixed_float16"
    return "float32"


@contextlib.contextmanager
def dtype_policy(name):
    """Sets the global Keras dtype policy inside the block and restores the previous one.

    Under a mixed policy, layers compute in float16 / bfloat16 with float32 variables, task heads
    still output float32, and `compile` wraps the optimizer in a loss-scale optimizer for
    float16.
    """
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield name
    finally:
        keras.config.set_dtype_policy(previous)
