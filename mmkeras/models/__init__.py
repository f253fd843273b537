"""Multimodal models: `build_model` and the model classes it builds, and task-specific models."""

from mmkeras.models.build_model import BRANCH_KINDS, FUSIONS, build_model, make_branch, make_fusion
from mmkeras.models.captioner import Captioner
from mmkeras.models.dual_encoder import DualEncoder
from mmkeras.models.multimodal_model import MultimodalModel, PresenceOptionalModel

__all__ = [
    "build_model",
    "make_branch",
    "make_fusion",
    "MultimodalModel",
    "PresenceOptionalModel",
    "DualEncoder",
    "Captioner",
    "BRANCH_KINDS",
    "FUSIONS",
]
