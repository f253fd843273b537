"""The built-in encoder families; importing this package registers each of them."""

# ruff: noqa: I001 - one import line per family module, so that adding a family adds one line
from mmkeras.pretrained.families import roberta, vit  # noqa: F401
from mmkeras.pretrained.families import deit  # noqa: F401
from mmkeras.pretrained.families import dinov2  # noqa: F401
