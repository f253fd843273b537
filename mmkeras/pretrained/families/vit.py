"""ViT image encoders (Hugging Face `vit` checkpoints and keras-hub `ViTBackbone` presets)."""

import keras

from mmkeras.layers.modeling import SequenceMask
from mmkeras.pretrained.families.keras_hub_family import (
    KerasHubFamily,
    check_config_value,
    class_token_pooled,
    image_normalization,
)
from mmkeras.pretrained.family import Encoded, register_family


def check_image_shape(family, size, input_shape):
    """The branch's input shape: the checkpoint's `size`, or the same size given explicitly."""
    expected = (int(size[0]), int(size[1]), 3)
    if input_shape is not None and tuple(input_shape) != expected:
        raise ValueError(
            f"pretrained: a {family} checkpoint takes images of {expected} (its position "
            f"embeddings are fixed); received input_shape={tuple(input_shape)!r}. Resize "
            "images to that size: mk.data.ImageSpec.from_pretrained(branch) does."
        )
    return expected


def normalized_images(raw, scale, offset):
    """0..255 RGB pixels -> the network's input, per channel `x * scale + offset`."""
    return keras.layers.Rescaling(scale=scale, offset=offset, name="image_normalization")(raw)


@register_family
class ViTFamily(KerasHubFamily):
    """Vision Transformer: patch embedding, a class token, pre-norm blocks, a final LayerNorm.

    The branch's sequence is the final LayerNorm's output over the class token and the patches
    (Hugging Face's `last_hidden_state`); `pooling="cls"` takes the class token's state, and
    `pooling="pooler"` the checkpoint's pooling head (`pooler_output`, tanh of a dense layer on
    the class token) where the checkpoint holds one (`ViTModel` saved with its pooler; not
    the image classifiers, not keras-hub presets). The keras-hub converter leaves the
    layer-norm epsilon at 1e-6 while ViT checkpoints use their config's `layer_norm_eps`
    (1e-12): the backbone is built with the checkpoint's value. Measured against Hugging
    Face's `ViTModel` on a tiny random checkpoint: last hidden state within 3e-6.
    """

    name = "vit"
    modality = "image"
    model_types = ("vit",)
    backbone_classes = ("ViTBackbone",)
    default_pooling = "cls"
    # keras-hub's layer names, and the normalisation a checkpoint without a preprocessor uses.
    embedding_layer = "vit_patching_and_embedding"
    encoder_layer = "vit_encoder"
    default_mean = (0.5, 0.5, 0.5)
    default_std = (0.5, 0.5, 0.5)

    def config_overrides(self, source):
        check_config_value(source, self.name, "hidden_act", "gelu", "gelu", " (exact GELU)")
        return {"layer_norm_epsilon": float(source.config.get("layer_norm_eps", 1e-12))}

    def _normalization(self, source):
        return image_normalization(
            source, list(self.default_mean), list(self.default_std), (224, 224)
        )

    def raw_input(self, network, source, input_shape=None, **options):
        size = tuple(network.image_shape[:2])
        shape = check_image_shape(self.name, size, input_shape)
        return keras.Input(shape=shape, dtype="float32", name="image")

    def encode(self, network, raw, source, training=None):
        _, scale, offset = self._normalization(source)
        sequence = network(normalized_images(raw, scale, offset), training=training)
        mask = SequenceMask(name="sequence_mask")(sequence)
        return Encoded(sequence, mask, class_token_pooled(source, sequence))

    def blocks(self, network):
        embedding = network.get_layer(self.embedding_layer)
        encoder = network.get_layer(self.encoder_layer)
        layers = [[layer] for layer in encoder.encoder_layers]
        layers[0].insert(0, embedding)
        layers[-1].append(encoder.layer_norm)
        return layers

    def spec_arguments(self, source):
        size, _, _ = self._normalization(source)
        return {"size": size}
