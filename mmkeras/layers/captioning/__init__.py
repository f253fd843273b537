"""Layers of the captioning and retrieval models: caption decoders and contrastive logits."""

from mmkeras.layers.captioning.contrastive_logits import ContrastiveLogits
from mmkeras.layers.captioning.lstm_caption_decoder import LSTMCaptionDecoder
from mmkeras.layers.captioning.transformer_caption_decoder import TransformerCaptionDecoder
from mmkeras.layers.captioning.transformer_decoder_block import TransformerDecoderBlock

__all__ = [
    "ContrastiveLogits",
    "LSTMCaptionDecoder",
    "TransformerCaptionDecoder",
    "TransformerDecoderBlock",
]
