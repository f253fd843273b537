"""Same seed, same numbers: deterministic training runs on one machine.

A run with `deterministic: true` (next to `seed` in a config) calls `enable(seed)` before
anything is built. Repeating it on the same machine, with the same TensorFlow build, gives the
same weights and the same metrics. Another machine, CPU instruction set or TensorFlow version
may still differ in the last digits of floating point.

What makes a run repeat:

- `keras.utils.set_random_seed(seed)`: Python's `random`, NumPy's and TensorFlow's global
  generators, so weight initialisation, dropout and `ModalityDropout` draw the same numbers.
- `tf.config.experimental.enable_op_determinism()`: every TensorFlow op picks a deterministic
  kernel (or raises when it has none), reductions no longer depend on thread scheduling, and
  every `tf.data` transformation keeps its order.
- The input pipeline is deterministic by construction (`mmkeras.data`): its parallel maps pass
  `deterministic=True`, shuffling uses stateless ops seeded from `(seed, epoch)`, and OpenCV
  augmentation (one `numpy_function` per batch) and audio augmentation draw from generators
  seeded per element from `(seed, epoch, element index)`, so the thread that runs them does not
  matter.

Op determinism is a process-wide switch: a process that enabled it keeps it until `disable()`.
It can make some steps slower (TensorFlow runs a `tf.data` function serially when it holds
stateful ops).

Example:
>>> from mmkeras.train import determinism
>>> determinism.enable(0)
>>> determinism.disable()
"""


def enable(seed):
    """Seeds every random generator with `seed` and turns on TensorFlow op determinism.

    Args:
        seed: non-negative int.

    Raises:
        ValueError: `seed` is not a non-negative int.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"enable: `seed` must be a non-negative int, received {seed!r}.")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def disable():
    """Turns TensorFlow op determinism off again (the random generators stay seeded)."""
    from mmkeras.compat import disable_op_determinism

    disable_op_determinism()
