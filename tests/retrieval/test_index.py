import numpy as np
import pytest

from mmkeras.retrieval import Index


def test_search_returns_the_most_similar_ids_in_order(rng):
    vectors = rng.normal(size=(50, 6))
    index = Index().add(vectors, ids=[f"item{i}" for i in range(50)])
    queries = vectors[[3, 17]] * 5.0  # cosine ignores the scale
    scores, ids = index.search(queries, k=4)
    assert ids[:, 0].tolist() == ["item3", "item17"]
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)
    assert np.all(np.diff(scores, axis=1) <= 0)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    expected = np.argsort(-(unit[3] @ unit.T))[:4]
    assert ids[0].tolist() == [f"item{i}" for i in expected]


def test_k_larger_than_the_index_returns_everything(rng):
    index = Index().add(rng.normal(size=(3, 4)))
    index.add(rng.normal(size=(2, 4)))
    scores, ids = index.search(rng.normal(size=(4,)), k=10)
    assert scores.shape == (1, 5)
    assert sorted(ids[0].tolist()) == [0, 1, 2, 3, 4]


def test_save_and_load_round_trip(tmp_path, rng):
    vectors = rng.normal(size=(10, 3))
    index = Index().add(vectors, ids=np.arange(100, 110))
    index.save(tmp_path / "index.npz")
    loaded = Index.load(tmp_path / "index.npz")
    assert len(loaded) == 10 and loaded.dim == 3
    queries = rng.normal(size=(2, 3))
    for a, b in zip(index.search(queries, 3), loaded.search(queries, 3), strict=False):
        np.testing.assert_array_equal(a, b)
    assert not [p.name for p in tmp_path.iterdir() if p.name != "index.npz"]


def test_rejects_bad_input(rng):
    index = Index(dim=3)
    with pytest.raises(ValueError, match="empty"):
        index.search(np.ones(3), k=1)
    with pytest.raises(ValueError, match="4 dimensions"):
        index.add(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"rows \[1\] are all zeros"):
        index.add(np.array([[1.0, 0, 0], [0, 0, 0]]))
    index.add(np.eye(3), ids=["a", "b", "c"])
    with pytest.raises(ValueError, match="Duplicate ids"):
        index.add(np.eye(3)[:1], ids=["a"])
    with pytest.raises(ValueError, match="k=0"):
        index.search(np.ones(3), k=0)
    with pytest.raises(ValueError, match="npz"):
        index.save("index.bin")
