import numpy as np
import pytest

from mmkeras.layers.fusion import MLPFusion
from mmkeras.testing import check_presence_mask_contract, run_layer_test


def test_layer_harness():
    run_layer_test(
        MLPFusion,
        {"units": 3, "hidden_units": [8], "dropout": 0.2},
        input_shape=((2, 4), (2, 6), (2, 5)),
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=4,
    )


def test_presence_mask_contract(rng):
    features = [rng.normal(size=(4, size)).astype("float32") for size in (4, 6, 5)]
    check_presence_mask_contract(MLPFusion(units=3, hidden_units=[8], activation="tanh"), features)


def test_mlp_sees_which_modality_is_missing():
    # Two samples whose features are all zero, one with modality 1 present and one without:
    # a fused feature that only zeroed the absent slot could not tell them apart.
    features = [np.zeros((2, 3), "float32"), np.zeros((2, 2), "float32")]
    mask = np.array([[1, 1], [1, 0]], dtype="float32")
    out = np.asarray(MLPFusion(units=4, activation=None)(features, mask=mask))
    assert not np.allclose(out[0], out[1])


def test_dropout_only_in_training(rng):
    features = [rng.normal(size=(4, 3)).astype("float32") for _ in range(2)]
    layer = MLPFusion(units=3, hidden_units=[16], dropout=0.5)
    first = np.asarray(layer(features, training=False))
    np.testing.assert_allclose(np.asarray(layer(features, training=False)), first)
    assert not np.allclose(np.asarray(layer(features, training=True)), first)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"units": 0}, "units.*Received: units=0"),
        (
            {"units": 3, "hidden_units": 8},
            "hidden_units.*list of positive ints.*Received: hidden_units=8",
        ),
        ({"units": 3, "hidden_units": [8, 0]}, r"Received: hidden_units=\[8, 0\]"),
        ({"units": 3, "dropout": 1.0}, r"dropout.*\[0, 1\).*Received: dropout=1.0"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MLPFusion(**kwargs)
