"""Fusion layers: combine per-modality features (with a presence mask) into one feature.

Every layer is called as `layer(features, mask=present)` with `features` a list of `M` tensors
and `present` an optional `(batch, M)` presence mask; absent modalities are left out of the
result, not treated as zeros. See `docs/conventions.md`.
"""

from mmkeras.layers.fusion.attention_fusion import AttentionFusion
from mmkeras.layers.fusion.base_fusion import Fusion
from mmkeras.layers.fusion.concat_fusion import ConcatFusion
from mmkeras.layers.fusion.cross_modal_attention import CrossModalAttention
from mmkeras.layers.fusion.gated_fusion import GatedFusion
from mmkeras.layers.fusion.low_rank_fusion import LowRankFusion
from mmkeras.layers.fusion.mlp_fusion import MLPFusion
from mmkeras.layers.fusion.modality_dropout import ModalityDropout
from mmkeras.layers.fusion.product_fusion import ProductFusion
from mmkeras.layers.fusion.sum_fusion import SumFusion
from mmkeras.layers.fusion.tensor_fusion import TensorFusion

__all__ = [
    "AttentionFusion",
    "ConcatFusion",
    "CrossModalAttention",
    "Fusion",
    "GatedFusion",
    "LowRankFusion",
    "MLPFusion",
    "ModalityDropout",
    "ProductFusion",
    "SumFusion",
    "TensorFusion",
]
