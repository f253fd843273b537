"""The built-in encoder families, one module each; importing this package registers them all."""

from mmkeras._lazy import attach

_EXPORTS = {
    "CLIPTextFamily": "mmkeras.pretrained.families.clip",
    "CLIPVisionFamily": "mmkeras.pretrained.families.clip",
    "DeiTFamily": "mmkeras.pretrained.families.deit",
    "DINOv2Family": "mmkeras.pretrained.families.dinov2",
    "RobertaFamily": "mmkeras.pretrained.families.roberta",
    "SigLIPTextFamily": "mmkeras.pretrained.families.siglip",
    "SigLIPVisionFamily": "mmkeras.pretrained.families.siglip",
    "ViTFamily": "mmkeras.pretrained.families.vit",
    "WhisperFamily": "mmkeras.pretrained.families.whisper",
    "XLMRobertaFamily": "mmkeras.pretrained.families.roberta",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS, eager=True)
