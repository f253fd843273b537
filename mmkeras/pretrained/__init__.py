"""Pretrained checkpoints: where they come from (`resolve_source`) and the encoder families that
read them (`Family`, one module each under `mmkeras.pretrained.families`).

`mk.branches.pretrained` builds a branch from these; `mk.data.TextSpec.from_pretrained` and
`mk.data.ImageSpec.from_pretrained` read a checkpoint's tokenizer and image size through them.
"""

from mmkeras._lazy import attach

_EXPORTS = {
    "Encoded": "mmkeras.pretrained.family",
    "Family": "mmkeras.pretrained.family",
    "PretrainedSource": "mmkeras.pretrained.sources",
    "family_for": "mmkeras.pretrained.family",
    "register_family": "mmkeras.pretrained.family",
    "registered_families": "mmkeras.pretrained.family",
    "resolve_source": "mmkeras.pretrained.sources",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
