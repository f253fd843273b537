"""Multimodal models: `build_model` and the model classes it builds."""

from mmkeras.models.build_model import BRANCH_KINDS, FUSIONS, build_model, make_branch, make_fusion
from mmkeras.models.multimodal_model import MultimodalModel

__all__ = [
    "build_model",
    "make_branch",
    "make_fusion",
    "MultimodalModel",
    "BRANCH_KINDS",
    "FUSIONS",
]
