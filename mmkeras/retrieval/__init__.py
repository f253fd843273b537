"""Retrieval and captioning evaluation in NumPy: a cosine-similarity `Index`, recall@k and BLEU.

Nothing here imports TensorFlow or Keras, so it runs on embeddings and token lists from any source.
"""

from mmkeras._lazy import attach

_EXPORTS = {
    "Index": "mmkeras.retrieval.index",
    "corpus_bleu": "mmkeras.retrieval.bleu_score",
    "recall_at_k": "mmkeras.retrieval.recall",
    "retrieval_recalls": "mmkeras.retrieval.recall",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
