"""The built-in encoder families; importing this package registers each of them."""

import mmkeras.pretrained.families.whisper  # noqa: F401
from mmkeras.pretrained.families import roberta, vit  # noqa: F401
