import numpy as np
import pytest

from mmkeras.layers.fusion import TensorFusion
from mmkeras.testing import check_presence_mask_contract, run_layer_test


def test_layer_harness():
    run_layer_test(
        TensorFusion,
        {"units": 3, "input_units": 2, "dropout": 0.1},
        input_shape=((2, 4), (2, 6), (2, 5)),
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=8,
    )


def test_presence_mask_contract(rng):
    features = [rng.normal(size=(4, size)).astype("float32") for size in (4, 6, 5)]
    check_presence_mask_contract(TensorFusion(units=3, input_units=2), features)


def _outer(vectors):
    product = vectors[0]
    for vector in vectors[1:]:
        product = np.outer(product, vector).ravel()
    return product


def test_output_is_a_projection_of_the_outer_product(rng):
    features = [rng.normal(size=(3, size)).astype("float32") for size in (2, 3, 2)]
    layer = TensorFusion(units=4, input_units=None)
    mask = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 0]], dtype="float32")
    out = np.asarray(layer(features, mask=mask))
    kernel, bias = (np.asarray(w) for w in layer.output_projection.weights)
    for sample in range(3):
        extended = [np.append(f[sample] * mask[sample, m], 1.0) for m, f in enumerate(features)]
        np.testing.assert_allclose(
            out[sample], _outer(extended) @ kernel + bias, rtol=1e-5, atol=1e-6
        )
    # No modality present: only the all-ones corner of the outer product is set.
    np.testing.assert_allclose(out[2], kernel[-1] + bias, rtol=1e-5)


def test_too_large_outer_product_is_rejected():
    layer = TensorFusion(units=2, input_units=100)
    with pytest.raises(ValueError, match="input_units.*LowRankFusion"):
        layer.build([(None, 4)] * 4)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"units": 0}, "units.*Received: units=0"),
        ({"units": 3, "input_units": 0}, "input_units.*Received: input_units=0"),
        (
            {"units": 3, "output_activation": "nope"},
            "output_activation.*Received: output_activation='nope'",
        ),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TensorFusion(**kwargs)
