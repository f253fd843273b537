"""Keras layers of mmkeras: fusion layers, the modeling layers the branches use, and the BERT and
captioning layers.

Every layer is registered for `.keras` serialization under the package name `mmkeras`.
"""

from mmkeras.layers.bert import *  # noqa: F401,F403
from mmkeras.layers.captioning import *  # noqa: F401,F403
from mmkeras.layers.fusion import *  # noqa: F401,F403
from mmkeras.layers.modeling import *  # noqa: F401,F403
