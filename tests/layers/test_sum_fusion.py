import numpy as np
import pytest

from mmkeras.layers.fusion import SumFusion
from mmkeras.testing import check_presence_mask_contract, run_layer_test


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_layer_harness(reduction):
    run_layer_test(
        SumFusion,
        {"units": 3, "reduction": reduction, "activation": "relu"},
        input_shape=((2, 4), (2, 6), (2, 5)),
        expected_output_shape=(2, 3),
    )


def test_layer_harness_without_projection():
    run_layer_test(SumFusion, {}, input_shape=((2, 5), (2, 5)), expected_output_shape=(2, 5))


def test_presence_mask_contract(rng):
    features = [rng.normal(size=(4, size)).astype("float32") for size in (4, 6, 5)]
    check_presence_mask_contract(SumFusion(units=3), features)
    check_presence_mask_contract(SumFusion(units=3, reduction="sum"), features)


def test_mean_is_over_present_modalities_only(rng):
    features = [rng.normal(size=(3, 5)).astype("float32") for _ in range(3)]
    mask = np.array([[1, 1, 0], [0, 0, 1], [0, 0, 0]], dtype="float32")
    out = np.asarray(SumFusion()(features, mask=mask))
    np.testing.assert_allclose(out[0], (features[0][0] + features[1][0]) / 2, rtol=1e-5)
    np.testing.assert_allclose(out[1], features[2][1], rtol=1e-5)
    np.testing.assert_allclose(out[2], 0.0)
    summed = np.asarray(SumFusion(reduction="sum")(features, mask=mask))
    np.testing.assert_allclose(summed[0], features[0][0] + features[1][0], rtol=1e-5)


def test_different_sizes_need_units(rng):
    features = [np.zeros((2, 4), "float32"), np.zeros((2, 6), "float32")]
    with pytest.raises(ValueError, match=r"set `units`.*\[4, 6\]"):
        SumFusion()(features)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"units": 0}, "units.*positive int or None.*Received: units=0"),
        ({"units": 2.5}, "Received: units=2.5"),
        ({"reduction": "max"}, r"reduction.*\['mean', 'sum'\].*Received: reduction='max'"),
        (
            {"activation": "no_such_activation"},
            "activation.*Received: activation='no_such_activation'",
        ),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SumFusion(**kwargs)
