"""The built-in encoder families; importing this package registers each of them."""

from mmkeras.pretrained.families import roberta, vit  # noqa: F401
from mmkeras.pretrained.families import clip  # noqa: F401
from mmkeras.pretrained.families import siglip  # noqa: F401
