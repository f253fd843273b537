"""Checks for mmkeras layers.

`run_layer_test` wraps Keras's own layer test harness (`keras.src.testing.TestCase.run_layer_test`):
serialization round trip, symbolic and eager calls, a training step and a mixed-precision check.
The harness is private Keras API, so it is imported in one place only; `setup.cfg` pins the Keras
range it was checked against.

`check_presence_mask_contract` checks the presence-mask contract every fusion layer keeps (see
`docs/conventions.md`), and `registered_mmkeras_objects` lists what mmkeras registers for
`.keras` serialization.
"""

import importlib
import pkgutil

import numpy as np

# Packages whose modules may define registered objects; every module in them is imported so
# that an object defined in a file its package does not re-export is listed too.
_MODEL_PACKAGES = ("mmkeras.layers", "mmkeras.branches", "mmkeras.tasks", "mmkeras.models")


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
            `run_training_check`, `run_mixed_precision_check`, ...). The harness's training step
            calls the layer without `call_kwargs`, so turn it off for call arguments that
            change the output structure (e.g. `return_attention_scores=True`).

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


def check_presence_mask_contract(layer, features, call_kwargs=None, atol=1e-6):
    """Checks that a fusion layer honours the presence mask.

    The checks, on the given features:

    1. With every modality present, `mask=None` and an all-ones mask give the same output.
    2. For each modality `k`, in samples where `k` is absent the output does not depend on the
       values of feature `k` (they are replaced by large random values and by NaN), and samples
       where `k` is present are unaffected by the other samples' masks.
    3. A sample with no modality present gives a finite output.

    Args:
        layer: a fusion layer, called as `layer(features, mask=mask, **call_kwargs)`.
        features: list of numpy arrays, one per modality, with a batch of at least 2.
        call_kwargs: dict of extra call arguments.
        atol: absolute tolerance of the comparisons.

    Raises:
        AssertionError: naming the check that failed.
    """
    call_kwargs = dict(call_kwargs or {})
    features = [np.asarray(feature, dtype="float32") for feature in features]
    batch_size = features[0].shape[0]
    num_modalities = len(features)
    rng = np.random.default_rng(1234)

    def output(values, mask):
        result = layer(list(values), mask=mask, **call_kwargs)
        if isinstance(result, (tuple, list)):
            result = result[0]
        return np.asarray(result, dtype="float64")

    ones = np.ones((batch_size, num_modalities), dtype="float32")
    reference = output(features, None)
    np.testing.assert_allclose(
        output(features, ones),
        reference,
        atol=atol,
        err_msg="mask=None and an all-ones mask differ",
    )

    for k in range(num_modalities):
        mask = ones.copy()
        mask[0::2, k] = 0.0  # modality k absent in the even samples only
        masked = output(features, mask)
        for replacement in ("large", "nan"):
            changed = [feature.copy() for feature in features]
            if replacement == "large":
                changed[k][0::2] = rng.normal(scale=1e3, size=changed[k][0::2].shape)
            else:
                changed[k][0::2] = np.nan
            np.testing.assert_allclose(
                output(changed, mask),
                masked,
                atol=atol,
                err_msg=f"output depends on the {replacement} values of absent modality {k}",
            )
        np.testing.assert_allclose(
            masked[1::2],
            reference[1::2],
            atol=atol,
            err_msg=f"masking modality {k} in some samples changed the output of other samples",
        )

    nothing = ones.copy()
    nothing[0] = 0.0
    result = output(features, nothing)
    if not np.all(np.isfinite(result)):
        raise AssertionError(
            f"a sample with no modality present gives a non-finite output: {result[0]}"
        )


def registered_mmkeras_objects():
    """Returns `{registered_name: object}` for every object registered under the `mmkeras` package."""
    import keras

    for package_name in _MODEL_PACKAGES:
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            importlib.import_module(module.name)

    registry = keras.saving.get_custom_objects()
    return {name: obj for name, obj in registry.items() if name.startswith("mmkeras>")}
