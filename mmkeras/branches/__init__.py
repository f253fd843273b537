"""Per-modality encoder builders: each returns a functional `keras.Model`.

Every branch takes one raw tensor (see `docs/conventions.md`) and returns a feature
`(batch, output_dim)`, or with `return_sequence=True` a dict with `"feature"`, `"sequence"` and
`"sequence_mask"`. Each branch records its blocks, so `set_trainable(branch, False | True | k)`
freezes it, unfreezes it or trains its top `k` blocks.
"""

from mmkeras.branches.audio_cnn import audio_cnn
from mmkeras.branches.audio_rnn import audio_rnn
from mmkeras.branches.freezing import set_trainable, trainable_blocks
from mmkeras.branches.image_backbone import image_backbone
from mmkeras.branches.image_cnn import image_cnn
from mmkeras.branches.tabular_mlp import tabular_mlp
from mmkeras.branches.text_bert import text_bert
from mmkeras.branches.text_rnn import text_rnn
from mmkeras.branches.text_transformer import text_transformer

__all__ = [
    "audio_cnn",
    "audio_rnn",
    "image_backbone",
    "image_cnn",
    "set_trainable",
    "tabular_mlp",
    "text_bert",
    "text_rnn",
    "text_transformer",
    "trainable_blocks",
]
