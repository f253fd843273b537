"""Layers of the BERT encoder that `mmkeras.branches.text_bert` loads checkpoints into."""

from mmkeras._lazy import attach

_EXPORTS = {
    "BERTEmbeddings": "mmkeras.layers.bert.bert_embeddings",
    "BERTEncoderLayer": "mmkeras.layers.bert.bert_encoder_layer",
    "BERTPooler": "mmkeras.layers.bert.bert_pooler",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS, eager=True)
