"""Small modeling layers used by the branch builders of `mmkeras.branches`."""

from mmkeras.layers.modeling.caffe_preprocessing import CaffePreprocessing
from mmkeras.layers.modeling.feature_tokenizer import FeatureTokenizer
from mmkeras.layers.modeling.log_mel_spectrogram import LogMelSpectrogram
from mmkeras.layers.modeling.masked_mean_pooling import MaskedMeanPooling
from mmkeras.layers.modeling.sequence_mask import SequenceMask
from mmkeras.layers.modeling.spatial_attention_pooling import SpatialAttentionPooling
from mmkeras.layers.modeling.token_and_position_embedding import TokenAndPositionEmbedding
from mmkeras.layers.modeling.transformer_encoder_block import TransformerEncoderBlock

__all__ = [
    "CaffePreprocessing",
    "FeatureTokenizer",
    "LogMelSpectrogram",
    "MaskedMeanPooling",
    "SequenceMask",
    "SpatialAttentionPooling",
    "TokenAndPositionEmbedding",
    "TransformerEncoderBlock",
]
