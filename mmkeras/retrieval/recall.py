"""Recall@k of a similarity matrix, and both directions of image-text retrieval."""

import numpy as np

from mmkeras.argument_checks import check_positive_int


def _check_k(k):
    # NumPy integers (from an array of ks) are integers too.
    check_positive_int("k", int(k) if isinstance(k, np.integer) else k)


def _ids_or_range(ids, count, name):
    if ids is None:
        return np.arange(count)
    ids = np.asarray(ids)
    if ids.shape != (count,):
        raise ValueError(
            f"`{name}` must have one id per row ({count}); received shape {ids.shape}."
        )
    return ids


def recall_at_k(similarity, k, query_ids=None, item_ids=None):
    """Fraction of queries whose top-`k` items contain a match.

    A match is an item whose id equals the query's id. By default query `i` matches item `i`
    only (the diagonal of a paired set). Give ids to count any item of the same pair, class or
    image as a match, e.g. when several captions describe one image.

    Args:
        similarity: array `(num_queries, num_items)`, larger is more similar.
        k: int > 0; `k >= num_items` counts every query with a match as found.
        query_ids: optional array `(num_queries,)` of ids.
        item_ids: optional array `(num_items,)` of ids.

    Returns:
        Float in [0, 1].

    Example:
    >>> recall_at_k(np.eye(3), k=1)
    1.0
    """
    _check_k(k)
    similarity = np.asarray(similarity, dtype=np.float64)
    if similarity.ndim != 2:
        raise ValueError(
            f"`similarity` must be a matrix (num_queries, num_items); received shape "
            f"{similarity.shape}."
        )
    num_queries, num_items = similarity.shape
    if num_queries == 0:
        raise ValueError("`similarity` has no queries.")
    query_ids = _ids_or_range(query_ids, num_queries, "query_ids")
    item_ids = _ids_or_range(item_ids, num_items, "item_ids")
    k = min(int(k), num_items)
    # A stable sort on the negated scores breaks ties by item order, so results are reproducible.
    top = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
    hits = item_ids[top] == query_ids[:, None]
    return float(np.mean(np.any(hits, axis=1)))


def retrieval_recalls(
    image_embeddings, text_embeddings, ks=(1, 5, 10), image_ids=None, text_ids=None
):
    """Recall@k for image-to-text and text-to-image retrieval over a whole set.

    Similarity is the cosine of the embeddings. Row `i` of the images is paired with row `i` of
    the texts unless ids are given (then an image and a text match when their ids are equal).

    Args:
        image_embeddings: array `(num_images, dim)`.
        text_embeddings: array `(num_texts, dim)`.
        ks: iterable of positive ints.
        image_ids: optional array `(num_images,)`.
        text_ids: optional array `(num_texts,)`.

    Returns:
        Dict `{"image_to_text_recall@k": float, "text_to_image_recall@k": float}` for each k.

    Example:
    >>> retrieval_recalls(image_vectors, text_vectors, ks=(1, 5))["text_to_image_recall@1"]
    0.82
    """
    images = _unit_rows(image_embeddings, "image_embeddings")
    texts = _unit_rows(text_embeddings, "text_embeddings")
    if images.shape[1] != texts.shape[1]:
        raise ValueError(
            f"Image and text embeddings differ in size: {images.shape[1]} vs {texts.shape[1]}."
        )
    if image_ids is None and text_ids is None and len(images) != len(texts):
        raise ValueError(
            f"{len(images)} images and {len(texts)} texts: without ids the rows must be paired "
            "one to one; pass `image_ids` and `text_ids`."
        )
    image_ids = _ids_or_range(image_ids, len(images), "image_ids")
    text_ids = _ids_or_range(text_ids, len(texts), "text_ids")
    similarity = images @ texts.T
    results = {}
    for k in ks:
        results[f"image_to_text_recall@{k}"] = recall_at_k(similarity, k, image_ids, text_ids)
        results[f"text_to_image_recall@{k}"] = recall_at_k(similarity.T, k, text_ids, image_ids)
    return results


def _unit_rows(vectors, name):
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2:
        raise ValueError(f"`{name}` must be a matrix (rows, dim); received shape {vectors.shape}.")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
