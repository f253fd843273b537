"""Multimodal models: `build_model` and the model classes it builds, and task-specific models.

Importing this package registers every mmkeras layer, task and model class with Keras, so that
`keras.saving.load_model` finds them in a `.keras` file.
"""

from mmkeras._lazy import attach

_EXPORTS = {
    "BRANCH_KINDS": "mmkeras.models.model_builder",
    "Captioner": "mmkeras.models.captioner",
    "Distiller": "mmkeras.models.distiller",
    "DualEncoder": "mmkeras.models.dual_encoder",
    "EnsembleModel": "mmkeras.models.ensemble_model",
    "FUSIONS": "mmkeras.models.model_builder",
    "MultimodalModel": "mmkeras.models.multimodal_model",
    "PresenceOptionalModel": "mmkeras.models.multimodal_model",
    "build_model": "mmkeras.models.model_builder",
    "load_model": "mmkeras.models.keras_file",
    "make_branch": "mmkeras.models.model_builder",
    "make_fusion": "mmkeras.models.model_builder",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS, eager=True)

import mmkeras.layers  # noqa: E402, F401 - registers the layers that saved models name
import mmkeras.pretrained.saved_networks  # noqa: E402, F401 - and the networks of pretrained families
