"""DINOv2 image encoders, with or without registers (Hugging Face `dinov2` and
`dinov2_with_registers` checkpoints, keras-hub `DINOV2Backbone` presets)."""

import numbers

import keras
import keras_hub

from mmkeras.layers.modeling import SequenceMask, TokenAt
from mmkeras.pretrained.families.deit import IMAGENET_MEAN, IMAGENET_STD
from mmkeras.pretrained.families.keras_hub_family import (
    KerasHubFamily,
    check_config_value,
    image_normalization,
)
from mmkeras.pretrained.families.vit import normalized_images
from mmkeras.pretrained.family import Encoded, register_family
from mmkeras.pretrained.position_tables import resize_position_table


@keras.saving.register_keras_serializable(package="mmkeras")
class DINOv2Network(keras_hub.models.DINOV2Backbone):
    """keras-hub's `DINOV2Backbone` with its position table held at the input size.

    keras-hub's backbone keeps two tables: the checkpoint's (not trained) and one resampled to
    the input size (trained), which it resamples again with TensorFlow's bicubic resize on every
    load. Here both are at the input size, so no resampling ever happens: the table is
    resampled once, as the reference does it, when the branch is built
    (`mmkeras.pretrained.position_tables`). Saving copies the trained table into the stored
    one; keras-hub's own check skips the copy whenever the trained changes sum to a negative
    number, and the reloaded model would then lose them. Files naming this class load before
    the family is imported (`mmkeras.pretrained.saved_networks`).

    Args:
        image_shape: `(size, size, 3)`, a square image whose side is a multiple of
            `patch_size`.
        position_embedding_shape: ignored unless given: then it must be `image_shape[:2]`.
        **kwargs: the other `DINOV2Backbone` arguments.
    """

    def __init__(self, image_shape, position_embedding_shape=None, **kwargs):
        grid = tuple(int(d) for d in image_shape[:2])
        if position_embedding_shape is not None and tuple(position_embedding_shape[:2]) != grid:
            raise ValueError(
                f"DINOv2Network: the position table is held at the input size {grid}; received "
                f"position_embedding_shape={tuple(position_embedding_shape)!r}."
            )
        super().__init__(image_shape=image_shape, position_embedding_shape=grid, **kwargs)

    def save_own_variables(self, store):
        # Keras saves a model before the layers inside it: the embedding layer then finds its
        # stored table equal to the trained one, and a load restores exactly what was saved.
        embeddings = self.embeddings
        embeddings.position_embeddings.assign(embeddings.interpolated_position_embeddings)
        super().save_own_variables(store)


def network_at_size(loaded, side, name="dinov2"):
    """A `DINOv2Network` for `(side, side)` images with the weights of a loaded backbone.

    The loaded backbone's stored table (at the size it was trained at) is resampled to the new
    patch grid as the reference does: PyTorch's bicubic interpolation, antialiased for the
    checkpoints with registers (`loaded.antialias_in_interpolation`, set by keras-hub's
    converter and presets).
    """
    config = loaded.get_config()
    config.update(image_shape=(side, side, 3), position_embedding_shape=None, name=name)
    network = DINOv2Network.from_config(config)
    embeddings = network.embeddings
    patch = loaded.patch_size
    table = resize_position_table(
        keras.ops.convert_to_numpy(loaded.embeddings.position_embeddings),
        (side // patch, side // patch),
        antialias=loaded.antialias_in_interpolation,
    )
    tables = (embeddings.position_embeddings, embeddings.interpolated_position_embeddings)
    for old, new in zip(loaded.weights, network.weights, strict=True):
        if any(new is t for t in tables):
            new.assign(table)
        else:
            new.assign(old)
    return network


@register_family
class DINOv2Family(KerasHubFamily):
    """DINOv2 (self-supervised ViT): layer scale on each residual branch, optional registers.

    The sequence is the final LayerNorm's output over the class token, the register tokens
    (`dinov2_with_registers` checkpoints; none otherwise) and the patches, as Hugging Face's
    `last_hidden_state`. `pooling="cls"` takes the class token's state, which is also the
    reference's `pooler_output` (`pooling="pooler"` gives the same); `"mean"` averages every
    position, class and register tokens included.

    Image size: DINOv2 runs at other sizes than its checkpoint's by resampling its position
    table, as the released models do (a 518-pixel table, 224-pixel crops). The branch takes
    square images whose side is a multiple of the patch size (`input_shape`); default the size
    the checkpoint's image processor crops to (224 for the released models), else the
    checkpoint's own size. The table is resampled once when the branch is built, with PyTorch's
    bicubic arithmetic as the reference (keras-hub's TensorFlow resampling moved the outputs
    of a tiny checkpoint by 0.05), and is then an ordinary weight of that size. Measured
    against Hugging Face's `Dinov2Model` and `Dinov2WithRegistersModel` on tiny random
    checkpoints, at their own size and at resampled ones: last hidden state within 3e-6.

    keras-hub's DINOv2 fixes the layer-norm epsilon at 1e-6 and uses exact GELU (or SwiGLU):
    checkpoints with other settings are refused.
    """

    name = "dinov2"
    modality = "image"
    model_types = ("dinov2", "dinov2_with_registers")
    backbone_classes = ("DINOV2Backbone",)
    default_pooling = "cls"

    def load(self, source):
        if source.format == "transformers":
            self._check_config(source)
        return super().load(source)

    def _check_config(self, source):
        if not source.config.get("use_swiglu_ffn", False):
            check_config_value(source, self.name, "hidden_act", "gelu", "gelu", " (exact GELU)")
        check_config_value(source, self.name, "layer_norm_eps", 1e-6, 1e-6)
        check_config_value(source, self.name, "qkv_bias", True, True)

    def _normalization(self, source, network=None):
        default = None
        if source.format == "transformers":
            default = (source.config["image_size"],) * 2
        elif network is not None:
            default = tuple(network.image_shape[:2])
        return image_normalization(source, list(IMAGENET_MEAN), list(IMAGENET_STD), default)

    def build_network(self, source, input_shape=None, **options):
        loaded = self.load(source)
        if input_shape is None:
            size, _, _ = self._normalization(source, loaded)
            input_shape = (*size, 3)
        side = self._check_shape(input_shape, loaded.patch_size)
        return network_at_size(loaded, side)

    def _check_shape(self, shape, patch):
        shape = tuple(shape) if isinstance(shape, list | tuple) else (shape,)
        ok = (
            len(shape) == 3
            and all(isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in shape)
            and shape[2] == 3
            and shape[0] == shape[1]
            and shape[0] > 0
            and shape[0] % patch == 0
        )
        if not ok:
            raise ValueError(
                f"pretrained: a {self.name} branch takes square RGB images whose side is a "
                f"multiple of the patch size {patch}, input_shape=(side, side, 3); received "
                f"input_shape={shape!r}."
            )
        return int(shape[0])

    def raw_input(self, network, source, input_shape=None, **options):
        shape = tuple(network.image_shape)
        return keras.Input(shape=shape, dtype="float32", name="image")

    def encode(self, network, raw, source, training=None):
        _, scale, offset = self._normalization(source, network)
        images = normalized_images(raw, scale, offset)
        sequence = network({"images": images}, training=training)
        mask = SequenceMask(name="sequence_mask")(sequence)
        cls = TokenAt(0, name="cls_token")(sequence)
        return Encoded(sequence, mask, {"cls": cls, "pooler": cls})

    def blocks(self, network):
        layers = [[layer] for layer in network.encoder.layers]
        layers[0].insert(0, network.embeddings)
        layers[-1].append(network.layernorm)
        return layers

    def spec_arguments(self, source):
        size, _, _ = self._normalization(source)
        if size is None:  # a keras-hub preset without an image converter: its backbone's size
            size = tuple(self.load(source).image_shape[:2])
        return {"size": tuple(size)}
