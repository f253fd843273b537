"""What the families whose network is a keras-hub backbone share."""

import json

import keras

from mmkeras.layers.modeling import TokenAt
from mmkeras.pretrained.family import Family

# The layer name of the network inside a pretrained branch (block paths read "encoder/...").
NETWORK_NAME = "encoder"


class KerasHubFamily(Family):
    """A family whose network is a keras-hub `Backbone` (loaded by keras-hub's own loaders).

    `config_overrides(source)` returns backbone arguments that keras-hub's Hugging Face
    converter leaves at a default different from the checkpoint's (e.g. a layer-norm epsilon),
    so that the outputs match the reference implementation.
    """

    def config_overrides(self, source):
        return {}

    def load(self, source):
        if source.format == "transformers":
            from mmkeras import compat

            return compat.load_hf_backbone(
                source.location,
                source.config,
                overrides=self.config_overrides(source),
                name=NETWORK_NAME,
            )
        import keras_hub

        return keras_hub.models.Backbone.from_preset(source.location, name=NETWORK_NAME)


def hf_preprocessor_config(source):
    """The `preprocessor_config.json` of a local Hugging Face checkpoint, or `{}`."""
    path = source.file("preprocessor_config.json")
    if path is None:
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def image_normalization(source, default_mean, default_std, default_size):
    """`(size, scale, offset)`: the checkpoint's image size and, per channel, the affine map
    `x * scale + offset` from 0..255 pixels to the network's input (`(x / 255 - mean) / std`)."""
    if source.format == "keras_hub":
        import keras_hub

        converter = keras_hub.layers.ImageConverter.from_preset(source.location)
        size = tuple(converter.image_size) if converter.image_size else default_size
        scale = (
            keras.ops.convert_to_numpy(keras.ops.ones((3,)) * converter.scale)
            if converter.scale is not None
            else [1.0] * 3
        )
        offset = (
            keras.ops.convert_to_numpy(keras.ops.zeros((3,)) + converter.offset)
            if converter.offset is not None
            else [0.0] * 3
        )
        return size, [float(s) for s in scale], [float(o) for o in offset]
    config = hf_preprocessor_config(source)
    mean = config.get("image_mean", default_mean)
    std = config.get("image_std", default_std)
    rescale = config.get("rescale_factor", 1 / 255) if config.get("do_rescale", True) else 1.0
    if not config.get("do_normalize", True):
        mean, std = [0.0] * 3, [1.0] * 3
    size = config.get("size", default_size)
    if isinstance(size, dict):
        size = (
            size.get("height", size.get("shortest_edge")),
            size.get("width", size.get("shortest_edge")),
        )
    elif isinstance(size, int):
        size = (size, size)
    crop = config.get("crop_size") if config.get("do_center_crop") else None
    if crop is not None:
        size = (crop["height"], crop["width"]) if isinstance(crop, dict) else (crop, crop)
    scale = [rescale / s for s in std]
    offset = [-m / s for m, s in zip(mean, std, strict=True)]
    return tuple(int(d) for d in size), scale, offset


def checkpoint_tensor(source, name):
    """A tensor of a local Hugging Face checkpoint as a NumPy array, or None if it has none.

    Args:
        source: a `PretrainedSource` of format `"transformers"`.
        name: the tensor's name without the model prefix, e.g. `"pooler.dense.weight"`: it
            matches `"pooler.dense.weight"` and `"vit.pooler.dense.weight"` alike.

    Reads `model.safetensors`, or the shards that `model.safetensors.index.json` lists.
    """
    from mmkeras.pretrained.families.safetensors_checkpoint import SafetensorsCheckpoint

    with SafetensorsCheckpoint(source) as tensors:
        found = [n for n in tensors.names() if n == name or n.endswith("." + name)]
        return tensors[found[0]] if found else None


_POOLER_ACTIVATIONS = {"tanh": "tanh", "relu": "relu", "gelu": "gelu", "sigmoid": "sigmoid"}


def checkpoint_pooler(source, cls_token):
    """The checkpoint's pooling head on the class token's state, or None where it has none.

    Hugging Face's `pooler_output` of ViT, DeiT and RoBERTa models saved with their pooler:
    `activation(dense(cls))`, activation `pooler_act` (tanh by default). The Dense layer,
    named `"pooler"`, holds the checkpoint's weights.

    Args:
        source: a `PretrainedSource`; keras-hub presets carry no pooler (None).
        cls_token: the symbolic class token state `(batch, width)`.
    """
    if source.format != "transformers":
        return None
    kernel = checkpoint_tensor(source, "pooler.dense.weight")
    bias = checkpoint_tensor(source, "pooler.dense.bias")
    activation = _POOLER_ACTIVATIONS.get(source.config.get("pooler_act", "tanh"))
    if kernel is None or bias is None or activation is None:
        return None
    layer = keras.layers.Dense(kernel.shape[0], activation=activation, name="pooler")
    pooled = layer(cls_token)
    layer.set_weights([kernel.T, bias])
    return pooled


def class_token_pooled(source, sequence):
    """`{"cls": sequence[:, 0]}`, plus `"pooler"` where the checkpoint has a pooling head on
    the class token (`checkpoint_pooler`)."""
    cls = TokenAt(0, name="cls_token")(sequence)
    pooled = {"cls": cls}
    pooler = checkpoint_pooler(source, cls)
    if pooler is not None:
        pooled["pooler"] = pooler
    return pooled


def check_config_value(source, family, key, value, default, note=""):
    """Raises a clear error when the checkpoint's `config.json` has `key` other than `value`."""
    if source.format != "transformers":
        return
    found = source.config.get(key, default)
    if found != value:
        raise ValueError(
            f"pretrained source {source.source!r}: {family} checkpoints with {key}={found!r} "
            f"are not supported; mmkeras reads {key}={value!r}{note}."
        )


__all__ = [
    "KerasHubFamily",
    "check_config_value",
    "checkpoint_pooler",
    "class_token_pooled",
    "checkpoint_tensor",
    "hf_preprocessor_config",
    "image_normalization",
]
