import numpy as np
import pytest

from mmkeras.layers.fusion import ModalityDropout
from mmkeras.testing import run_layer_test

SHAPES = ((2, 4), (2, 6), (2, 5))


def _features(batch):
    return [np.zeros((batch, shape[1]), "float32") for shape in SHAPES]


def test_layer_harness():
    run_layer_test(
        ModalityDropout,
        {"rate": 0.5, "seed": 1},
        input_shape=SHAPES,
        expected_output_shape=(2, 3),
        expected_output_dtype="float32",
        expected_num_seed_generators=1,
    )


def test_identity_at_inference():
    layer = ModalityDropout(rate=0.9)
    mask = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 1]], dtype="float32")
    np.testing.assert_array_equal(np.asarray(layer(_features(3), mask=mask)), mask)
    np.testing.assert_array_equal(np.asarray(layer(_features(3))), np.ones((3, 3)))
    np.testing.assert_array_equal(np.asarray(layer(_features(3), mask=[None] * 3)), np.ones((3, 3)))


def test_training_drops_present_modalities_at_the_rate_and_never_all():
    batch = 4000
    mask = np.ones((batch, 3), dtype="float32")
    mask[: batch // 2, 2] = 0.0  # modality 2 absent in the first half
    kept = np.asarray(ModalityDropout(rate=0.3, seed=7)(_features(batch), mask=mask, training=True))
    assert set(np.unique(kept)) <= {0.0, 1.0}
    assert np.all(kept <= mask), "an absent modality was brought back"
    assert np.all(kept.sum(axis=1) >= 1), "a sample lost all of its modalities"
    # Each modality is dropped about 30% of the time (a little less: all-dropped samples are rescued).
    drop_rate = 1 - kept[batch // 2 :].mean(axis=0)
    assert np.all((drop_rate > 0.22) & (drop_rate < 0.34)), drop_rate


def test_rate_one_keeps_exactly_one_present_modality():
    mask = np.array([[1, 1, 1], [1, 0, 1], [0, 1, 0], [0, 0, 0]] * 50, dtype="float32")
    kept = np.asarray(ModalityDropout(rate=1.0, seed=3)(_features(200), mask=mask, training=True))
    np.testing.assert_array_equal(kept.sum(axis=1), np.tile([1, 1, 1, 0], 50))
    assert np.all(kept <= mask)
    # The kept modality is chosen at random among the present ones.
    assert len({tuple(row) for row in kept[0::4]}) == 3


def test_per_modality_rates():
    batch = 3000
    layer = ModalityDropout(rate=[0.0, 0.5, 0.0], seed=5)
    kept = np.asarray(layer(_features(batch), training=True))
    np.testing.assert_array_equal(kept[:, [0, 2]], 1.0)
    assert 0.45 < 1 - kept[:, 1].mean() < 0.55


def test_rate_list_must_match_the_number_of_modalities():
    with pytest.raises(ValueError, match=r"rate.*2 entries.*3 modalities"):
        ModalityDropout(rate=[0.1, 0.2])(_features(2), training=True)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rate": 1.5}, r"rate.*\[0, 1\].*Received: rate=1.5"),
        ({"rate": [0.1, -0.2]}, "Received: rate=-0.2"),
        ({"rate": []}, "rate.*empty"),
        ({"rate": 0.1, "seed": "x"}, "seed.*Received: seed='x'"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModalityDropout(**kwargs)
