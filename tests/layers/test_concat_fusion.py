import numpy as np
import pytest

from mmkeras.layers.fusion import ConcatFusion
from mmkeras.testing import check_presence_mask_contract, run_layer_test


def _features(rng, batch=4):
    return [rng.normal(size=(batch, size)).astype("float32") for size in (4, 6, 5)]


@pytest.mark.parametrize("append_mask, width", [(False, 15), (True, 18)])
def test_layer_harness(append_mask, width):
    run_layer_test(
        ConcatFusion,
        {"append_mask": append_mask},
        input_shape=((2, 4), (2, 6), (2, 5)),
        expected_output_shape=(2, width),
    )


def test_presence_mask_contract(rng):
    check_presence_mask_contract(ConcatFusion(append_mask=True), _features(rng))


def test_absent_slot_is_zero_and_mask_is_appended(rng):
    features = _features(rng)
    mask = np.array([[1, 0, 1], [1, 1, 1], [0, 0, 0], [1, 1, 0]], dtype="float32")
    out = np.asarray(ConcatFusion(append_mask=True)(features, mask=mask))
    np.testing.assert_allclose(out[0, 4:10], 0.0)
    np.testing.assert_allclose(out[0, :4], features[0][0], rtol=1e-6)
    np.testing.assert_allclose(out[1, :15], np.concatenate([f[1] for f in features]), rtol=1e-6)
    np.testing.assert_allclose(out[:, 15:], mask)


def test_bool_and_list_masks_match_float_mask(rng):
    features = _features(rng)
    mask = np.array([[1, 0, 1], [1, 1, 1], [0, 1, 0], [1, 1, 0]], dtype="float32")
    layer = ConcatFusion()
    expected = np.asarray(layer(features, mask=mask))
    np.testing.assert_allclose(np.asarray(layer(features, mask=mask.astype(bool))), expected)
    columns = [mask[:, m] for m in range(3)]
    np.testing.assert_allclose(np.asarray(layer(features, mask=columns)), expected)
    no_mask = np.asarray(layer(features, mask=[None, None, None]))
    np.testing.assert_allclose(no_mask, np.concatenate(features, axis=-1), rtol=1e-6)


def test_wrong_mask_shape_is_rejected(rng):
    with pytest.raises(ValueError, match=r"mask.*\(batch, 3\)"):
        ConcatFusion()(_features(rng), mask=np.ones((4, 2), dtype="float32"))


def test_invalid_arguments():
    with pytest.raises(ValueError, match="append_mask.*bool.*Received: append_mask='yes'"):
        ConcatFusion(append_mask="yes")


def test_single_tensor_input_is_rejected():
    with pytest.raises(ValueError, match="list"):
        ConcatFusion().compute_output_shape((2, 4))
