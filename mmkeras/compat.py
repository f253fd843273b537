"""Every use of private Keras and TensorFlow API in mmkeras, in one place.

mmkeras is tested against the versions in `TESTED`. Private names can move in any release;
each helper here names what it relies on, and `check_versions` says what to do when the
installed versions are outside the tested range.
"""

import contextlib
import warnings

TESTED = {"tensorflow": ("2.21",), "keras": ("3.15",)}


def _major_minor(version):
    return ".".join(version.split(".")[:2])


def check_versions():
    """Warns when TensorFlow or Keras is outside the versions mmkeras was tested with.

    Training calls it first (`mmkeras.train.Trainer.run`). Outside the tested range the helpers
    below may fail: the warning names the version to install, and each helper's docstring names
    the private API it relies on, which is what to adapt when porting to a newer release.

    Returns:
        dict `{"tensorflow": version, "keras": version}` of the installed versions.
    """
    import keras
    import tensorflow as tf

    found = {"tensorflow": tf.__version__, "keras": keras.__version__}
    for name, version in found.items():
        if _major_minor(version) not in TESTED[name]:
            warnings.warn(
                f"mmkeras uses private {name} API tested with {name} "
                f"{' / '.join(TESTED[name])}; {name} {version} is installed. If a call in "
                "mmkeras.compat fails, install a tested version "
                f"(pip install '{name}=={TESTED[name][-1]}.*').",
                stacklevel=2,
            )
    return found


class PrivateAPIError(RuntimeError):
    """A private Keras / TensorFlow name mmkeras relies on is missing from the installed version."""


def _moved(what, error):
    """The error to raise when the private API behind `what` is gone."""
    import keras
    import tensorflow as tf

    return PrivateAPIError(
        f"mmkeras.compat.{what} relies on private API that the installed versions lack "
        f"({type(error).__name__}: {error}); installed: tensorflow {tf.__version__}, keras "
        f"{keras.__version__}; tested: tensorflow {' / '.join(TESTED['tensorflow'])}, keras "
        f"{' / '.join(TESTED['keras'])}. Install a tested pair (pip install "
        f"'tensorflow=={TESTED['tensorflow'][-1]}.*' 'keras=={TESTED['keras'][-1]}.*'), or "
        f"adapt {what} in mmkeras/compat.py, whose docstring names what it uses."
    )


def is_trackable(obj):
    """Whether a SavedModel can track `obj` (a `tf.Module` or any TF trackable).

    Private: `tf.__internal__.tracking.Trackable`, the base of Keras layers and TF resources.
    """
    import tensorflow as tf

    return isinstance(obj, tf.Module | tf.__internal__.tracking.Trackable)


def sublayers(layer):
    """The direct sub-layers of any Keras layer (a model's `layers`, or a plain layer's own).

    Private: `Layer._flatten_layers(include_self=False, recursive=False)`, the only way to list
    the sub-layers of a layer that is not a model (e.g. keras-hub's `ViTEncoder`).
    """
    return list(layer._flatten_layers(include_self=False, recursive=False))


# === Keras callbacks ===
# Attributes that make up the state of Keras's stateful callbacks (reset in `on_train_begin`),
# read from Keras 3.15's `keras/src/callbacks/early_stopping.py` and `reduce_lr_on_plateau.py`.
# They have no `get_state` / `set_state`; a resumed run copies these back.
CALLBACK_STATE_FIELDS = {
    "EarlyStopping": ("wait", "best", "stopped_epoch", "best_epoch"),
    "ReduceLROnPlateau": ("wait", "best", "cooldown_counter"),
}


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    return value


def callback_state(callback):
    """The internal state of a Keras `EarlyStopping` / `ReduceLROnPlateau`, as a JSON-ready dict.

    Private: the attributes in `CALLBACK_STATE_FIELDS`. Other callbacks give `{}`.
    """
    fields = CALLBACK_STATE_FIELDS.get(type(callback).__name__, ())
    return {field: _plain(getattr(callback, field, None)) for field in fields}


def restore_callback_state(callback, state):
    """Sets the attributes `callback_state` read back onto `callback`."""
    for field, value in state.items():
        setattr(callback, field, value)


# === Keras's TensorFlow trainer under MultiWorkerMirroredStrategy ===
@contextlib.contextmanager
def multi_worker_keras(model, strategy, element_spec):
    """Runs Keras's `fit` / `evaluate` of `model` under a multi-worker strategy.

    Keras 3.15's TensorFlow trainer has two gaps with `MultiWorkerMirroredStrategy`, both in
    private code this block steps around (and undoes on exit):

    - before `fit` / `evaluate` it builds the model by averaging the first distributed batch
      with `strategy.reduce`, which cannot reduce a nested batch (a dict of inputs and the
      targets). Here the model, optimizer, loss and metrics are built from the dataset's
      `element_spec` first (`model._symbolic_build`), and Keras finds the strategy through its
      scope (`model._distribute_strategy` is cleared), so it skips that.
    - it averages each step's logs across workers with `strategy.reduce("MEAN", v, axis=0)`,
      which fails on the scalar losses and metrics. Here scalars are averaged over replicas
      (`keras.src.backend.tensorflow.trainer.reduce_per_replica` is replaced, and reads
      `_collective_all_reduce_multi_worker`).

    Args:
        model: the compiled `keras.Model` about to be trained or evaluated.
        strategy: the `tf.distribute.MultiWorkerMirroredStrategy`.
        element_spec: the training dataset's `element_spec` (None: the model is built).
    """
    import keras

    try:
        from keras.src.backend.tensorflow import trainer as tf_trainer

        original = tf_trainer.reduce_per_replica
        all_reduce_multi_worker = tf_trainer._collective_all_reduce_multi_worker
        symbolic_build = model._symbolic_build
        saved = model._distribute_strategy
    except (ImportError, AttributeError) as error:
        raise _moved("multi_worker_keras", error) from None

    def reduce_per_replica(values, strategy, reduction="auto"):
        if reduction not in ("auto", "mean") or not all_reduce_multi_worker(strategy):
            return original(values, strategy, reduction)

        def mean(value):
            local = strategy.experimental_local_results(value)[0]
            axis = 0 if getattr(local.shape, "rank", 0) else None
            return strategy.reduce("MEAN", value, axis=axis)

        return keras.tree.map_structure(mean, values)

    with strategy.scope():
        if element_spec is not None:
            symbolic_build(data_batch=element_spec)
        model._distribute_strategy = None
        tf_trainer.reduce_per_replica = reduce_per_replica
        try:
            yield
        finally:
            tf_trainer.reduce_per_replica = original
            model._distribute_strategy = saved


def disable_op_determinism():
    """Turns TensorFlow op determinism off (`tf.config.experimental.enable_op_determinism`).

    Private: `tensorflow.python.framework.config.disable_op_determinism`; TensorFlow exports
    only the switch that turns it on.
    """
    from tensorflow.python.framework import config

    config.disable_op_determinism()


# === keras-hub ===
# keras-hub converts Hugging Face checkpoints through `keras_hub.src.utils.transformers`: one
# converter module per `model_type` (`convert_backbone_config`, `convert_weights`,
# `backbone_cls`) and a `SafetensorLoader` that reads tensors by their Hugging Face names. Read
# from keras-hub 0.32; `load_hf_backbone` is the one place mmkeras uses them.


def load_hf_backbone(folder, config, overrides=None, name=None):
    """A keras-hub backbone built from a local Hugging Face checkpoint by keras-hub's converter.

    Args:
        folder: the checkpoint folder (`config.json`, `model.safetensors`).
        config: its parsed `config.json`.
        overrides: backbone arguments that replace the converted ones (values the converter
            leaves at a default different from the checkpoint's).
        name: the backbone's layer name (default keras-hub's).

    A converter asks for names as a task checkpoint holds them (`"vit.embeddings..."`); a
    checkpoint saved from the bare model (`ViTModel`) holds `"embeddings..."`: the loader falls
    back to the name without its first component.
    """
    import inspect

    try:
        from keras_hub.src.utils.transformers.preset_loader import TransformersPresetLoader
        from keras_hub.src.utils.transformers.safetensor_utils import SafetensorLoader
    except ImportError as error:
        raise PrivateAPIError(
            "mmkeras.compat.load_hf_backbone relies on keras-hub's private converter modules "
            f"(keras_hub.src.utils.transformers), missing from the installed keras-hub "
            f"({error}); install keras-hub 0.32 (pip install 'keras-hub==0.32.*')."
        ) from error

    class Loader(SafetensorLoader):
        def get_prefixed_key(self, hf_weight_key, dict_like):
            keys = dict_like.keys()
            if hf_weight_key not in keys and "." in hf_weight_key:
                bare = hf_weight_key.split(".", 1)[1]
                if bare in keys:
                    return bare
            return super().get_prefixed_key(hf_weight_key, dict_like)

    converter = TransformersPresetLoader(folder, config).converter
    if len(inspect.signature(converter.convert_backbone_config).parameters) == 1:
        arguments = converter.convert_backbone_config(config)
    else:
        arguments = converter.convert_backbone_config(config, converter.backbone_cls)
    backbone = converter.backbone_cls(
        **{**arguments, **(overrides or {})}, **({"name": name} if name else {})
    )
    with Loader(folder) as loader:
        converter.convert_weights(backbone, loader, config)
    return backbone
