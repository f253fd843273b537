"""Small modeling layers used by the branch builders of `mmkeras.branches`."""

from mmkeras._lazy import attach

_EXPORTS = {
    "gelu_tanh": "mmkeras.layers.modeling.activations",
    "quick_gelu": "mmkeras.layers.modeling.activations",
    "CaffePreprocessing": "mmkeras.layers.modeling.caffe_preprocessing",
    "EndTokenPooling": "mmkeras.layers.modeling.end_token_pooling",
    "FeatureTokenizer": "mmkeras.layers.modeling.feature_tokenizer",
    "FixedPositionEmbedding": "mmkeras.layers.modeling.fixed_position_embedding",
    "LogMelSpectrogram": "mmkeras.layers.modeling.log_mel_spectrogram",
    "MaskedMeanPooling": "mmkeras.layers.modeling.masked_mean_pooling",
    "MultiheadAttentionPooling": "mmkeras.layers.modeling.multihead_attention_pooling",
    "PatchEmbedding": "mmkeras.layers.modeling.patch_embedding",
    "RightPaddingMask": "mmkeras.layers.modeling.right_padding_mask",
    "SequenceMask": "mmkeras.layers.modeling.sequence_mask",
    "SpatialAttentionPooling": "mmkeras.layers.modeling.spatial_attention_pooling",
    "TokenAt": "mmkeras.layers.modeling.token_at",
    "TokenAndPositionEmbedding": "mmkeras.layers.modeling.token_and_position_embedding",
    "TransformerEncoderBlock": "mmkeras.layers.modeling.transformer_encoder_block",
    "WaveformPaddingMask": "mmkeras.layers.modeling.waveform_padding_mask",
    "WhisperLogMel": "mmkeras.layers.modeling.whisper_log_mel",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS, eager=True)
