"""`EnsembleModel`: the weighted average of models that read the same inputs."""

import numpy as np
import pytest

import mmkeras as mk


def _member(name, num_features=3):
    branch = mk.branches.tabular_mlp(num_features=num_features)
    return mk.build_model(
        {"x": branch}, task=mk.tasks.Classification(num_classes=3), name=name, compile=False
    )


def test_predictions_are_the_weighted_average_and_survive_saving(tmp_path):
    a, b = _member("a"), _member("b")
    ensemble = mk.models.EnsembleModel([a, b], weights=[3, 1])
    assert ensemble.member_weights == [0.75, 0.25]
    assert ensemble.modalities == ["x"] and list(ensemble.tasks) == list(a.tasks)
    x = {"x": np.random.default_rng(0).random((5, 3)).astype("float32")}
    expected = 0.75 * a.predict(x, verbose=0) + 0.25 * b.predict(x, verbose=0)
    np.testing.assert_allclose(ensemble.predict(x, verbose=0), expected, atol=1e-6)
    path = str(tmp_path / "ensemble.keras")
    ensemble.save(path)
    loaded = mk.load_model(path)
    assert type(loaded).__name__ == "EnsembleModel" and loaded.member_weights == [0.75, 0.25]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, atol=1e-6)


def test_bad_members_and_weights_are_refused():
    with pytest.raises(ValueError, match="`members` is empty"):
        mk.models.EnsembleModel([])
    with pytest.raises(ValueError, match="non-negative numbers"):
        mk.models.EnsembleModel([_member("a"), _member("b")], weights=[1, -1])
    with pytest.raises(ValueError, match="non-negative numbers"):
        mk.models.EnsembleModel([_member("a"), _member("b")], weights=[1])
    with pytest.raises(ValueError, match="distinct names"):
        mk.models.EnsembleModel([_member("a"), _member("a")])
    with pytest.raises(ValueError, match="must read the same inputs"):
        mk.models.EnsembleModel([_member("a"), _member("b", num_features=4)])
