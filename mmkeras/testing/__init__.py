"""Test utilities for mmkeras layers.

`run_layer_test` wraps Keras's own layer test harness (`keras.src.testing.TestCase.run_layer_test`):
serialization round trip, symbolic and eager calls, a training step and a mixed-precision check.
The harness is private Keras API, so it is imported in one place only; `setup.cfg` pins the Keras
range it was checked against.
"""



def _harness_class():
    from keras.src import testing as keras_testing

    return keras_testing.TestCase


def run_layer_test(layer_cls, init_kwargs, **kwargs):
    """Runs Keras's layer test harness on `layer_cls`.

    Args:
        layer_cls: the layer class under test.
        init_kwargs: dict of constructor arguments.
        **kwargs: passed on to `keras.src.testing.TestCase.run_layer_test` (`input_shape` as a
            tuple of shapes for several inputs, `call_kwargs`, `expected_output_shape`,
            `run_training_check`, `run_mixed_precision_check`, ...).

    Raises:
        AssertionError: when the layer fails a check.
    """
    harness = _harness_class()

    class _Case(harness):
        def runTest(self):  # noqa: N802 - unittest naming
            pass

    case = _Case()
    case.setUp()
    try:
        case.run_layer_test(layer_cls, init_kwargs, **kwargs)
    finally:
        case.tearDown()


def registered_mmkeras_objects():
    """Returns `{registered_name: object}` for every object registered under the `mmkeras` package."""
    import keras

    import mmkeras.layers  # noqa: F401 - registers the layers
    import mmkeras.models  # noqa: F401
    import mmkeras.tasks  # noqa: F401

    registry = keras.saving.get_custom_objects()
    return {name: obj for name, obj in registry.items() if name.startswith("mmkeras>")}


__all__ = ["run_layer_test", "registered_mmkeras_objects"]
