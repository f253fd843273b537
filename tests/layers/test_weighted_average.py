import numpy as np

from mmkeras.models.ensemble_model import WeightedAverage
from mmkeras.testing import run_layer_test


def test_layer_harness():
    run_layer_test(
        WeightedAverage,
        {"weights": [0.25, 0.75]},
        input_shape=((2, 3), (2, 3)),
        expected_output_shape=(2, 3),
    )


def test_output_is_the_weighted_sum(rng):
    a, b = (rng.normal(size=(4, 3)).astype("float32") for _ in range(2))
    out = np.asarray(WeightedAverage([0.25, 0.75])([a, b]))
    np.testing.assert_allclose(out, 0.25 * a + 0.75 * b, rtol=1e-6)
