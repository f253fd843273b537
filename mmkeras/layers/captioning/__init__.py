"""Layers of the captioning and retrieval models: caption decoders and contrastive logits."""

from mmkeras._lazy import attach

_EXPORTS = {
    "ContrastiveLogits": "mmkeras.layers.captioning.contrastive_logits",
    "LSTMCaptionDecoder": "mmkeras.layers.captioning.lstm_caption_decoder",
    "TransformerCaptionDecoder": "mmkeras.layers.captioning.transformer_caption_decoder",
    "TransformerDecoderBlock": "mmkeras.layers.captioning.transformer_decoder_block",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS, eager=True)
