import numpy as np
import pytest

from mmkeras.layers.fusion import GatedFusion
from mmkeras.testing import check_presence_mask_contract, run_layer_test


def test_layer_harness():
    run_layer_test(
        GatedFusion,
        {"units": 3, "dropout": 0.1},
        input_shape=((2, 4), (2, 6), (2, 5)),
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=8,
    )


def test_presence_mask_contract(rng):
    features = [rng.normal(size=(4, size)).astype("float32") for size in (4, 6, 5)]
    check_presence_mask_contract(GatedFusion(units=3), features)


def test_output_is_gated_sum_of_present_projections(rng):
    features = [rng.normal(size=(2, size)).astype("float32") for size in (4, 6)]
    layer = GatedFusion(units=3)
    mask = np.array([[1, 0], [1, 1]], dtype="float32")
    out = np.asarray(layer(features, mask=mask))
    cleaned = [features[0], features[1] * mask[:, 1:]]
    gate_input = np.concatenate([*cleaned, mask], axis=-1)
    gates = np.asarray(layer.gate(gate_input)).reshape(2, 2, 3)
    projected = np.stack(
        [np.asarray(p(f)) for p, f in zip(layer.projections, cleaned, strict=True)], axis=1
    )
    expected = (gates * projected * mask[:, :, None]).sum(axis=1)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"units": "8"}, "units.*Received: units='8'"),
        ({"units": 3, "dropout": -0.1}, "dropout.*Received: dropout=-0.1"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GatedFusion(**kwargs)
