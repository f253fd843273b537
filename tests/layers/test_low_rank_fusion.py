import numpy as np
import pytest

from mmkeras.layers.fusion import LowRankFusion
from mmkeras.testing import check_presence_mask_contract, run_layer_test


def test_layer_harness():
    run_layer_test(
        LowRankFusion,
        {"units": 3, "rank": 2},
        input_shape=((2, 4), (2, 6), (2, 5)),
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=5,
    )


def test_presence_mask_contract(rng):
    features = [rng.normal(size=(4, size)).astype("float32") for size in (4, 6, 5)]
    check_presence_mask_contract(LowRankFusion(units=3, rank=2), features)


def test_equals_tensor_fusion_with_the_reconstructed_weight_tensor(rng):
    features = [rng.normal(size=(3, size)).astype("float32") for size in (2, 3, 2)]
    mask = np.array([[1, 1, 1], [0, 1, 1], [0, 0, 0]], dtype="float32")
    layer = LowRankFusion(units=4, rank=3)
    out = np.asarray(layer(features, mask=mask))
    factors = [np.asarray(f, dtype="float64") for f in layer.factors]
    rank_weights = np.asarray(layer.rank_weights, dtype="float64")
    # Full weight tensor W[d0, d1, d2, u] = sum_r w_r * A0[r, d0, u] * A1[r, d1, u] * A2[r, d2, u].
    weight = np.einsum("r,rau,rbu,rcu->abcu", rank_weights, *factors)
    for sample in range(3):
        z = [np.append(f[sample] * mask[sample, m], 1.0) for m, f in enumerate(features)]
        expected = np.einsum("a,b,c,abcu->u", *z, weight)
        np.testing.assert_allclose(out[sample], expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"units": 3, "rank": 0}, "rank.*positive int.*Received: rank=0"),
        ({"units": None}, "units.*Received: units=None"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LowRankFusion(**kwargs)
