"""Layers of the wav2vec2 / HuBERT speech encoders that `mk.branches.pretrained` loads
checkpoints into, and the waveform preprocessing they take."""

from mmkeras._lazy import attach

_EXPORTS = {
    "ConvFeatureEncoder": "mmkeras.layers.speech.conv_feature_encoder",
    "ConvPositionalEmbedding": "mmkeras.layers.speech.conv_positional_embedding",
    "FeatureProjection": "mmkeras.layers.speech.feature_projection",
    "FrameMask": "mmkeras.layers.speech.frame_mask",
    "SpeechEncoderLayer": "mmkeras.layers.speech.speech_encoder_layer",
    "WaveformLength": "mmkeras.layers.speech.waveform_length",
    "WaveformNormalization": "mmkeras.layers.speech.waveform_normalization",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS, eager=True)
