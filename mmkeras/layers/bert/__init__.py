"""Layers of the BERT encoder that `mmkeras.branches.text_bert` loads checkpoints into."""

from mmkeras.layers.bert.bert_embeddings import BERTEmbeddings
from mmkeras.layers.bert.bert_encoder_layer import BERTEncoderLayer
from mmkeras.layers.bert.bert_pooler import BERTPooler

__all__ = ["BERTEmbeddings", "BERTEncoderLayer", "BERTPooler"]
