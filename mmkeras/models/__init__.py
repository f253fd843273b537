"""Multimodal models: `build_model` and the model classes it builds, and task-specific models."""

from mmkeras.models.build_model import BRANCH_KINDS, FUSIONS, build_model, make_branch, make_fusion
from mmkeras.models.captioner import Captioner
from mmkeras.models.distiller import Distiller
from mmkeras.models.dual_encoder import DualEncoder
from mmkeras.models.multimodal_model import MultimodalModel, PresenceOptionalModel


def load_model(path, safe_mode=True, **kwargs):
    """Loads a `.keras` file saved from an mmkeras model (`safe_mode=True` by default).

    Importing this module registers every mmkeras layer, task and model class with Keras; plain
    `keras.saving.load_model` works too once `mmkeras.models` has been imported.

    Args:
        path: path of the `.keras` file.
        safe_mode: bool, refuse to deserialize arbitrary code (mmkeras models need none).
        **kwargs: passed on to `keras.saving.load_model` (`compile`, `custom_objects`).

    Raises:
        FileNotFoundError, IsADirectoryError: no file at `path`.
        ValueError: the file is not a complete `.keras` archive (truncated or damaged).
    """
    import keras

    import mmkeras.layers  # noqa: F401 - registers the layers
    import mmkeras.tasks  # noqa: F401
    from mmkeras.models.keras_file import check_keras_file

    return keras.saving.load_model(check_keras_file(path), safe_mode=safe_mode, **kwargs)


__all__ = [
    "build_model",
    "make_branch",
    "make_fusion",
    "MultimodalModel",
    "PresenceOptionalModel",
    "DualEncoder",
    "Captioner",
    "Distiller",
    "load_model",
    "BRANCH_KINDS",
    "FUSIONS",
]
