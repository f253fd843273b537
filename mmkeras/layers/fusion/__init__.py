"""Fusion layers: combine per-modality features (with a presence mask) into one feature.

Every layer is called as `layer(features, mask=present)` with `features` a list of `M` tensors
and `present` an optional `(batch, M)` presence mask; absent modalities are left out of the
result, not treated as zeros. See `docs/conventions.md`.
"""

from mmkeras._lazy import attach

_EXPORTS = {
    "AttentionFusion": "mmkeras.layers.fusion.attention_fusion",
    "ConcatFusion": "mmkeras.layers.fusion.concat_fusion",
    "CrossModalAttention": "mmkeras.layers.fusion.cross_modal_attention",
    "Fusion": "mmkeras.layers.fusion.base_fusion",
    "GatedFusion": "mmkeras.layers.fusion.gated_fusion",
    "LowRankFusion": "mmkeras.layers.fusion.low_rank_fusion",
    "MLPFusion": "mmkeras.layers.fusion.mlp_fusion",
    "ModalityDropout": "mmkeras.layers.fusion.modality_dropout",
    "ProductFusion": "mmkeras.layers.fusion.product_fusion",
    "SumFusion": "mmkeras.layers.fusion.sum_fusion",
    "TensorFusion": "mmkeras.layers.fusion.tensor_fusion",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS, eager=True)
