"""Image encoders over `keras.applications` backbones."""

import difflib
import os

import keras
import numpy as np

from mmkeras.argument_checks import check_choice, check_positive_int, check_rate
from mmkeras.branches._common import branch_outputs, check_input_shape
from mmkeras.branches.freezing import record_blocks
from mmkeras.branches.imagenet_weights import imagenet_weights_path
from mmkeras.layers.modeling import CaffePreprocessing

# name -> (keras.applications constructor, how raw 0..255 RGB pixels are prepared for it)
BACKBONES = {
    "resnet50": ("ResNet50", "caffe"),
    "resnet101": ("ResNet101", "caffe"),
    "efficientnetb0": ("EfficientNetB0", "built_in"),
    "efficientnetb1": ("EfficientNetB1", "built_in"),
    "mobilenetv2": ("MobileNetV2", "tf"),
    "mobilenetv3small": ("MobileNetV3Small", "built_in"),
    "mobilenetv3large": ("MobileNetV3Large", "built_in"),
}
POOLINGS = ("avg", "max")
# The per-channel ImageNet standard deviations (RGB, 0..1 scale).
IMAGENET_STD = (0.229, 0.224, 0.225)


def _check_weights(weights, builder):
    """`weights` as `None`, `"imagenet"` or the path of an existing local file."""
    allowed = (
        "Allowed values: None (random initialisation), 'imagenet' (downloaded once into the "
        "Keras cache) or the path of an existing local .h5 / .weights.h5 file."
    )
    if weights is None:
        return None
    if isinstance(weights, str) and weights.lower() == "imagenet":
        return "imagenet"
    if not isinstance(weights, (str, os.PathLike)):
        raise ValueError(f"{builder}: unknown weights={weights!r}. {allowed}")
    path = os.fspath(weights)
    if not os.path.isfile(path):
        close = difflib.get_close_matches(path.lower(), ["imagenet"], n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"{builder}: weights file not found: weights={path!r}.{hint} {allowed}")
    return path


def _build_application(backbone, input_shape, path, builder):
    constructor_name, preprocessing = BACKBONES[backbone]
    constructor = getattr(keras.applications, constructor_name)
    kwargs = {"include_top": False, "weights": None, "input_shape": input_shape, "name": "backbone"}
    if constructor_name.startswith("MobileNetV3"):
        kwargs["include_preprocessing"] = True
    model = constructor(**kwargs)
    if path is not None:
        try:
            model.load_weights(path)
        except Exception as error:  # a wrong file fails deep inside h5py/keras
            raise ValueError(
                f"{builder}: could not load weights={path!r} into backbone {backbone!r} "
                f"(include_top=False, input_shape={input_shape}): {error}"
            ) from error
    return model, preprocessing


def _efficientnet_std_correction(model):
    """Rescaling that completes EfficientNet's ImageNet input normalisation, or None.

    The ImageNet EfficientNet weights store each channel's standard deviation where the
    `Normalization` layer expects a variance, so inputs end up divided by sqrt(std) instead of
    std. `keras.applications` compensates only when it downloads the weights itself, with a
    `Rescaling(1 / sqrt(std))` after that layer; mmkeras builds the backbone without weights and
    loads the file (from the Keras cache or a local path), so it compensates here, for both:
    applying `x / sqrt(s) + 255 m (1 - 1 / sqrt(s))` before the backbone makes its first layers
    compute `(x / 255 - m) / s`, as Keras's own ImageNet model does. Other statistics (freshly
    initialised, or a true variance) are used as they are.
    """
    norm = next(
        (layer for layer in model.layers if isinstance(layer, keras.layers.Normalization)), None
    )
    if norm is None:
        return None
    # The variables, not `norm.mean`: that is a cached copy refreshed only by adapt().
    mean = np.ravel(keras.ops.convert_to_numpy(norm.adapt_mean)).astype("float64")
    stored = np.ravel(keras.ops.convert_to_numpy(norm.adapt_variance)).astype("float64")
    if stored.shape != (3,) or not np.allclose(stored, IMAGENET_STD, rtol=0, atol=1e-6):
        return None
    scale = 1.0 / np.sqrt(stored)
    offset = 255.0 * mean * (1.0 - scale)
    return keras.layers.Rescaling(
        scale=scale.tolist(), offset=offset.tolist(), name="imagenet_std_correction"
    )


def image_backbone(
    backbone="resnet50",
    input_shape=(224, 224, 3),
    weights=None,
    trainable=False,
    output_dim=None,
    pooling="avg",
    dropout=0.0,
    activation="relu",
    return_sequence=False,
    name="image_backbone",
):
    """Builds an image branch over a `keras.applications` backbone, preprocessing included.

    The input is raw RGB pixels on the 0..255 scale; each backbone's own preprocessing runs
    inside the model as plain layers: ResNet "caffe" mode (`mmkeras.layers.CaffePreprocessing`),
    MobileNetV2 scaling to -1..1 (`Rescaling`), and the preprocessing built into EfficientNet
    and MobileNetV3.

    `weights="imagenet"` loads the backbone's ImageNet weights without its top, the file
    `keras.applications` publishes (`mmkeras.branches.imagenet_weights.IMAGENET_WEIGHTS` names
    it). It is taken from the Keras cache (`$KERAS_HOME/models`, by default `~/.keras/models`)
    without touching the network, or downloaded there once. Offline (no network, or
    `MMKERAS_OFFLINE=1` / `HF_HUB_OFFLINE=1`) a missing file fails at once with
    `mmkeras.errors.DownloadError`, which names the file, the folder, and the other ways to
    supply it: copy the file into that folder, or pass its path as `weights`. The ImageNet
    weights suit any input size of at least 32x32; MobileNetV2 has files for square inputs of
    96, 128, 160, 192 and 224 pixels and uses the 224 one otherwise, MobileNetV3 has only the
    224 one, as in `keras.applications`.

    With `trainable=False` the backbone is frozen and called in inference mode, so its batch
    normalisation statistics stay fixed; this also holds after a later
    `branch.get_layer("backbone").trainable = True`, the usual way to fine-tune.

    Args:
        backbone: one of `"resnet50"`, `"resnet101"`, `"efficientnetb0"`,
            `"efficientnetb1"`, `"mobilenetv2"`, `"mobilenetv3small"`, `"mobilenetv3large"`.
        input_shape: `(height, width, 3)`, at least 32x32.
        weights: None (random initialisation), `"imagenet"`, or the path of a local weights
            file for the backbone without its top (`.h5` as Keras publishes them, or a
            `.weights.h5` saved with `save_weights`).
        trainable: bool, whether the backbone's weights are trained.
        output_dim: int or None. None returns the pooled backbone feature (its channel
            count); an int adds a Dense projection to that size.
        pooling: `"avg"` or `"max"` global pooling of the last feature map.
        dropout: float in [0, 1), dropout before the projection (only with `output_dim`).
        activation: activation of the projection.
        return_sequence: bool, also return the last feature map as a sequence of regions.
        name: name of the returned model.

    Returns:
        A functional `keras.Model` taking float32 images `(batch, height, width, 3)` on the
        0..255 scale, containing the backbone as a nested model named `"backbone"`. It returns
        the feature `(batch, output_dim or channels)`, or with `return_sequence=True` a dict:
        `"feature"`, `"sequence"` `(batch, regions, channels)` (the last feature map
        flattened row by row) and `"sequence_mask"` `(batch, regions)`, all True.

    Example:
    >>> branch = image_backbone("mobilenetv3small", input_shape=(96, 96, 3), output_dim=64)
    >>> print(branch(np.zeros((1, 96, 96, 3), "float32")).shape)
    (1, 64)
    """
    builder = "image_backbone"
    check_choice("backbone", backbone, tuple(BACKBONES), builder)
    input_shape = check_input_shape(input_shape, 3, builder)
    if input_shape[-1] != 3 or any(d is not None and d < 32 for d in input_shape[:2]):
        raise ValueError(
            f"{builder}: `input_shape` must be (height, width, 3) with height and width >= 32; "
            f"received input_shape={input_shape!r}."
        )
    path = _check_weights(weights, builder)
    if not isinstance(trainable, bool):
        raise ValueError(
            f"{builder}: `trainable` must be a bool; received trainable={trainable!r}."
        )
    if output_dim is not None:
        check_positive_int("output_dim", output_dim, builder)
    check_choice("pooling", pooling, POOLINGS, builder)
    check_rate("dropout", dropout, builder)

    if path == "imagenet":
        path = imagenet_weights_path(backbone, input_shape, builder)
    network, preprocessing = _build_application(backbone, input_shape, path, builder)
    network.trainable = trainable

    images = keras.Input(shape=input_shape, dtype="float32", name="image")
    x = images
    if preprocessing == "caffe":
        x = CaffePreprocessing(name="caffe_preprocessing")(x)
    elif preprocessing == "tf":
        x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="scale_to_unit_range")(x)
    else:
        correction = _efficientnet_std_correction(network)
        if correction is not None:
            x = correction(x)
    feature_map = network(x, training=False) if not trainable else network(x)
    if pooling == "avg":
        feature = keras.layers.GlobalAveragePooling2D(name="pool")(feature_map)
    else:
        feature = keras.layers.GlobalMaxPooling2D(name="pool")(feature_map)
    if output_dim is not None:
        if dropout:
            feature = keras.layers.Dropout(dropout, name="feature_dropout")(feature)
        feature = keras.layers.Dense(output_dim, activation=activation, name="feature")(feature)
    sequence = None
    if return_sequence:
        sequence = keras.layers.Reshape((-1, feature_map.shape[-1]), name="sequence")(feature_map)
    outputs = branch_outputs(feature, sequence, None, return_sequence)
    model = keras.Model(images, outputs, name=name)
    # The backbone trains or freezes as one block, below the projection.
    blocks = [network] + ([model.get_layer("feature")] if output_dim is not None else [])
    return record_blocks(model, blocks)
