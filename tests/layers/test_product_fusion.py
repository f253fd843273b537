import numpy as np
import pytest

from mmkeras.layers.fusion import ProductFusion
from mmkeras.testing import check_presence_mask_contract, run_layer_test


def test_layer_harness():
    run_layer_test(
        ProductFusion,
        {"units": 3},
        input_shape=((2, 4), (2, 6), (2, 5)),
        expected_output_shape=(2, 3),
    )


def test_presence_mask_contract(rng):
    features = [rng.normal(size=(4, size)).astype("float32") for size in (4, 6, 5)]
    check_presence_mask_contract(ProductFusion(units=3), features)


def test_product_is_over_present_modalities(rng):
    features = [rng.normal(size=(3, size)).astype("float32") for size in (4, 6, 5)]
    layer = ProductFusion(units=3, activation=None)
    mask = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0]], dtype="float32")
    out = np.asarray(layer(features, mask=mask))
    projected = [
        np.asarray(projection(feature))
        for projection, feature in zip(layer.projections, features, strict=True)
    ]
    np.testing.assert_allclose(out[0], projected[0][0] * projected[2][0], rtol=1e-5)
    np.testing.assert_allclose(out[1], projected[1][1], rtol=1e-5)
    np.testing.assert_allclose(out[2], 0.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"units": -1}, "units.*positive int.*Received: units=-1"),
        ({"units": 3, "activation": "bogus"}, "activation.*Received: activation='bogus'"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ProductFusion(**kwargs)
