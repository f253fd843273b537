"""`Index`: exact top-k search by cosine similarity over a matrix of vectors, in NumPy."""

import os

import numpy as np

from mmkeras.argument_checks import check_positive_int
from mmkeras.atomic_files import atomic_path


class Index:
    """An exact nearest-neighbour index by cosine similarity.

    Vectors are stored L2-normalised in one float32 matrix; a search is one matrix product and a
    partial sort, which is fast up to a few hundred thousand vectors. Each vector has an id (an
    int or a string, unique in the index) that searches return.

    Args:
        dim: optional int, the vector size; fixed by the first `add` when not given.

    Example:
    >>> index = mmkeras.retrieval.Index()
    >>> index.add(dual_encoder.encode_texts(captions), ids=caption_names)
    >>> scores, ids = index.search(dual_encoder.encode_images(images), k=5)
    >>> index.save("captions.npz")
    >>> index = mmkeras.retrieval.Index.load("captions.npz")
    """

    def __init__(self, dim=None):
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0):
            raise ValueError(f"`dim` must be a positive integer or None; received dim={dim!r}.")
        self.dim = dim
        self._vectors = np.zeros((0, dim or 0), dtype=np.float32)
        self._ids = np.zeros((0,), dtype=np.int64)

    def __len__(self):
        return len(self._ids)

    @property
    def ids(self):
        """Array of the ids, in insertion order."""
        return self._ids.copy()

    def _normalise(self, vectors, name):
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim == 1:
            vectors = vectors[None, :]
        if vectors.ndim != 2:
            raise ValueError(
                f"`{name}` must be (num_vectors, dim); received shape {vectors.shape}."
            )
        if self.dim is not None and vectors.shape[1] != self.dim:
            raise ValueError(
                f"`{name}` have {vectors.shape[1]} dimensions; this index holds {self.dim}."
            )
        if not np.all(np.isfinite(vectors)):
            bad = np.flatnonzero(~np.all(np.isfinite(vectors), axis=1))[:5].tolist()
            raise ValueError(f"`{name}` rows {bad} contain NaN or infinite values.")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        if np.any(norms == 0):
            bad = np.flatnonzero(norms[:, 0] == 0)[:5].tolist()
            raise ValueError(
                f"`{name}` rows {bad} are all zeros; the cosine similarity of a zero vector is "
                "undefined."
            )
        return vectors / norms

    def add(self, vectors, ids=None):
        """Adds vectors with their ids.

        Args:
            vectors: array `(num_vectors, dim)` (or one vector `(dim,)`).
            ids: optional sequence of `num_vectors` ints or strings; default: consecutive ints
                after the last added position.

        Returns:
            The index itself, so calls can be chained.

        Raises:
            ValueError: wrong shape, zero or non-finite vectors, ids of the wrong length or
                already in the index.
        """
        vectors = self._normalise(vectors, "vectors")
        if ids is None:
            ids = np.arange(len(self), len(self) + len(vectors))
        ids = np.asarray(ids)
        if ids.shape != (len(vectors),):
            raise ValueError(
                f"`ids` must have one id per vector ({len(vectors)}); received shape {ids.shape}."
            )
        if ids.dtype.kind not in "iuU":
            raise ValueError(f"`ids` must be ints or strings; received dtype {ids.dtype}.")
        if len(self) and (ids.dtype.kind == "U") != (self._ids.dtype.kind == "U"):
            raise ValueError(
                f"`ids` of dtype {ids.dtype} cannot join ids of dtype {self._ids.dtype} in one index."
            )
        merged = np.concatenate([self._ids, ids]) if len(self) else ids
        unique, counts = np.unique(merged, return_counts=True)
        if np.any(counts > 1):
            raise ValueError(
                f"Duplicate ids: {unique[counts > 1][:5].tolist()}; ids must be unique."
            )
        self.dim = vectors.shape[1]
        self._vectors = np.concatenate([self._vectors.reshape(-1, self.dim), vectors])
        self._ids = merged
        return self

    def search(self, queries, k=10):
        """Finds the `k` most similar vectors of each query.

        Args:
            queries: array `(num_queries, dim)` (or one query `(dim,)`).
            k: int > 0; at most the size of the index is returned.

        Returns:
            `(scores, ids)`: cosine similarities `(num_queries, k)` in decreasing order, and the
            matching ids `(num_queries, k)`.

        Raises:
            ValueError: an empty index, a bad `k` or queries of the wrong shape.
        """
        check_positive_int("k", int(k) if isinstance(k, np.integer) else k)
        if not len(self):
            raise ValueError("The index is empty; call `add` first.")
        queries = self._normalise(queries, "queries")
        similarity = queries @ self._vectors.T
        k = min(int(k), len(self))
        if k < len(self):
            candidates = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        else:
            candidates = np.broadcast_to(np.arange(len(self)), similarity.shape)
        candidate_scores = np.take_along_axis(similarity, candidates, axis=1)
        order = np.argsort(-candidate_scores, axis=1, kind="stable")
        top = np.take_along_axis(candidates, order, axis=1)
        return np.take_along_axis(similarity, top, axis=1), self._ids[top]

    def save(self, path):
        """Writes the index to a `.npz` file (to a temporary name first, then renamed)."""
        path = os.fspath(path)
        if not path.endswith(".npz"):
            raise ValueError(f"Index files end in '.npz'; received path={path!r}.")
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, vectors=self._vectors, ids=self._ids, dim=np.int64(self.dim or 0))

    @classmethod
    def load(cls, path):
        """Reads an index written by `save`."""
        with np.load(os.fspath(path), allow_pickle=False) as data:
            dim = int(data["dim"]) or None
            index = cls(dim=dim)
            index._vectors = data["vectors"].astype(np.float32)
            index._ids = data["ids"]
        return index
