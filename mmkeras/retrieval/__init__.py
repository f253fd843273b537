"""Retrieval and captioning evaluation in NumPy: a cosine-similarity `Index`, recall@k and BLEU.

Nothing here imports TensorFlow or Keras, so it runs on embeddings and token lists from any source.
"""

from mmkeras.retrieval.bleu_score import corpus_bleu
from mmkeras.retrieval.index import Index
from mmkeras.retrieval.recall import recall_at_k, retrieval_recalls

__all__ = ["Index", "corpus_bleu", "recall_at_k", "retrieval_recalls"]
