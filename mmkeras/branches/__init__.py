"""Per-modality encoder builders: each returns a functional `keras.Model`.

Every branch takes one raw tensor (see `docs/conventions.md`) and returns a feature
`(batch, output_dim)`, or with `return_sequence=True` a dict with `"feature"`, `"sequence"` and
`"sequence_mask"`. Each branch records its blocks, so `set_trainable(branch, False | True | k)`
freezes it, unfreezes it or trains its top `k` blocks.
"""

from mmkeras._lazy import attach

_EXPORTS = {
    "audio_cnn": "mmkeras.branches.audio_cnn_branch",
    "audio_rnn": "mmkeras.branches.audio_rnn_branch",
    "image_backbone": "mmkeras.branches.image_backbone_branch",
    "image_cnn": "mmkeras.branches.image_cnn_branch",
    "pretrained": "mmkeras.branches.pretrained_branch",
    "set_trainable": "mmkeras.branches.freezing",
    "tabular_mlp": "mmkeras.branches.tabular_mlp_branch",
    "text_bert": "mmkeras.branches.text_bert_branch",
    "text_rnn": "mmkeras.branches.text_rnn_branch",
    "text_transformer": "mmkeras.branches.text_transformer_branch",
    "trainable_blocks": "mmkeras.branches.freezing",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
