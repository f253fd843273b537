"""CLIP's vision and text towers (Hugging Face `clip` checkpoints, keras-hub `CLIPBackbone`).

keras-hub 0.32 has no Hugging Face converter for CLIP: the towers are built here from the
checkpoint's config with mmkeras layers (`image_text.py` says why not from keras-hub's
encoders) and filled from `model.safetensors`, or from a keras-hub preset's encoders.

Outputs, as Hugging Face's `CLIPModel` defines them:

- vision: `sequence` = the last encoder block's output, class token first, NOT layer-normed
  (`vision_model.last_hidden_state`); `"pooler"` = `post_layernorm` of the class token
  (`pooler_output`); `"projection"` = `visual_projection(pooler)` (`image_embeds` before their
  L2 normalisation); `"cls"` = the class token's state before the post-norm.
- text: `sequence` = `final_layer_norm` of the causal encoder's output (`last_hidden_state`);
  `"pooler"` = its state at the first end token (`pooler_output`), or at the largest id for
  checkpoints whose config says `eos_token_id: 2` (the released OpenAI ones), exactly as the
  reference picks it; `"projection"` = `text_projection(pooler)`.

The text tower masks padding as attention keys (as the reference does with the tokenizer's
attention mask): the real positions of right-padded ids are those before the run of padding at
the end, plus the first id of that run when the tokenizer pads with its end token (CLIP's
does), so a padded position's state matches the reference too.
"""

import keras

from mmkeras.layers.modeling import RightPaddingMask, SequenceMask, TokenAt
from mmkeras.pretrained.families import image_text, image_text_weights
from mmkeras.pretrained.families.keras_hub_family import image_normalization
from mmkeras.pretrained.families.vit import check_image_shape, normalized_images
from mmkeras.pretrained.family import Encoded, Family, register_family

OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_STD = [0.26862954, 0.26130258, 0.27577711]

# `CLIPVisionConfig` / `CLIPTextConfig` defaults, for configs that leave a key out.
VISION_DEFAULTS = {
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "image_size": 224,
    "patch_size": 32,
    "hidden_act": "quick_gelu",
    "layer_norm_eps": 1e-5,
}
TEXT_DEFAULTS = {
    "vocab_size": 49408,
    "hidden_size": 512,
    "intermediate_size": 2048,
    "num_hidden_layers": 12,
    "num_attention_heads": 8,
    "max_position_embeddings": 77,
    "hidden_act": "quick_gelu",
    "layer_norm_eps": 1e-5,
    "eos_token_id": 49407,
}


def tower_config(source, tower, defaults):
    """The `vision_config` / `text_config` of a full checkpoint, or the config of one tower,
    over the reference's defaults."""
    config = source.config
    if f"{tower}_config" in config or "vision_config" in config or "text_config" in config:
        config = config.get(f"{tower}_config") or {}
    return {**defaults, **config}


def projection_dim(source, config, weights, name):
    """The projection width where the checkpoint holds the projection `name`, else None."""
    if name not in weights:
        return None
    return int(source.config.get("projection_dim", config.get("projection_dim", 512)))


def keras_hub_projection(backbone, tower):
    """A keras-hub `CLIPBackbone`'s projection above `tower` and its width (`(None, None)` for
    a preset of the encoder alone)."""
    projection = getattr(backbone, f"{tower}_projection", None)
    return projection, None if projection is None else int(projection.units)


def assign_projection(network, weights, name):
    """The checkpoint's projection `name` (no bias) into the tower's, where it projects."""
    if name is not None and any(layer.name == "projection" for layer in network.layers):
        image_text_weights.assign_linear(network.get_layer("projection"), weights, name, bias=False)


def copy_projection(network, projection):
    """A keras-hub projection into the tower's, where the preset has one."""
    if projection is not None:
        image_text_weights.copy_weights(network.get_layer("projection"), projection, "projection")


def keras_hub_part(source, attribute, expected):
    """The vision or text encoder of a keras-hub preset (a whole backbone or the encoder)."""
    import keras_hub

    backbone = keras_hub.models.Backbone.from_preset(source.location)
    if type(backbone).__name__ == expected:
        return backbone, None
    encoder = getattr(backbone, attribute, None)
    if encoder is None:
        raise ValueError(
            f"pretrained source {source.source!r} is a {type(backbone).__name__}; expected a "
            f"backbone with a {attribute} or a {expected}."
        )
    return encoder, backbone


def keras_hub_positions(embedding):
    """The position table of a keras-hub vision embedding as its `position_ids` read it (they
    are a weight of the preset, `arange` in converted checkpoints)."""
    table = keras.ops.convert_to_numpy(embedding.position_embedding.embeddings)
    ids = keras.ops.convert_to_numpy(embedding.position_ids).reshape(-1)
    return table[ids]


class TowerFamily(Family):
    """A CLIP-like tower, built by `image_text` and filled (`image_text_weights`) from a Hugging Face checkpoint or
    from the encoder of a keras-hub preset.

    Subclasses state the tower (`"vision"` / `"text"`), the config defaults,
    `backbone_classes` (the full keras-hub backbone, then the tower's encoder) and how each
    format fills the tower (`_load_transformers`, `_load_keras_hub`).
    """

    tower = None
    defaults = None
    # The projection above the tower in a Hugging Face checkpoint, where it has one.
    projection_weight = None
    # A tensor every checkpoint of the tower holds, under `<tower>_model.` or no prefix.
    weight_probe = None

    def load(self, source):
        if source.format == "keras_hub":
            return self._load_keras_hub(source)
        config = tower_config(source, self.tower, self.defaults)
        with image_text_weights.SafetensorWeights(source) as weights:
            prefix = weights.find_prefix((f"{self.tower}_model.", ""), self.weight_probe)
            return self._load_transformers(source, config, weights, prefix)

    def _load_transformers(self, source, config, weights, prefix):
        raise NotImplementedError(f"{type(self).__name__}._load_transformers")

    def _load_keras_hub(self, source):
        raise NotImplementedError(f"{type(self).__name__}._load_keras_hub")

    def _keras_hub_part(self, source):
        """The preset's encoder of this tower, the backbone's projection above it and that
        projection's width (`None, None` where the preset has none, or is the encoder alone)."""
        encoder, backbone = keras_hub_part(
            source, f"{self.tower}_encoder", self.backbone_classes[1]
        )
        return (encoder, *keras_hub_projection(backbone, self.tower))

    def blocks(self, network):
        return image_text.tower_blocks(network)

    def enable_lora(self, network, rank):
        image_text.enable_tower_lora(network, rank)


class ImageTowerFamily(TowerFamily):
    """An image tower: normalises 0..255 pixels inside the model, runs the tower."""

    modality = "image"
    tower = "vision"
    weight_probe = "embeddings.patch_embedding.weight"
    default_pooling = "pooler"
    # The pooling that gives the embedding a dual encoder compares (`DualEncoder.from_pretrained`).
    embedding_pooling = "projection"
    default_mean = OPENAI_MEAN
    default_std = OPENAI_STD

    def _normalization(self, source):
        size = None
        if source.format == "transformers":
            config = tower_config(source, self.tower, self.defaults)
            size = (int(config["image_size"]),) * 2
        return image_normalization(source, self.default_mean, self.default_std, size)

    def _build_tower(self, arch):
        return image_text.build_vision_tower(arch, f"{self.name}_tower")

    def _transformers_tower(self, arch, weights, prefix):
        """The tower of `arch` with its patch embedding, pre-norm (where it has one), blocks,
        post-norm and projection (where it has one) filled from a Hugging Face checkpoint."""
        network = self._build_tower(arch)
        image_text_weights.assign_patch_embedding(network.get_layer("embedding"), weights, prefix)
        if arch["pre_norm_epsilon"] is not None:
            image_text_weights.assign_norm(
                network.get_layer("pre_norm"), weights, f"{prefix}pre_layrnorm"
            )
        image_text_weights.assign_blocks(network, weights, prefix, arch["num_layers"])
        image_text_weights.assign_norm(
            network.get_layer("post_norm"), weights, f"{prefix}post_layernorm"
        )
        assign_projection(network, weights, self.projection_weight)
        return network

    def raw_input(self, network, source, input_shape=None, **options):
        size = tuple(network.inputs[0].shape[1:3])
        return keras.Input(shape=check_image_shape(self.name, size, input_shape), name="image")

    def encode(self, network, raw, source, training=None):
        _, scale, offset = self._normalization(source)
        outputs = network(normalized_images(raw, scale, offset), training=training)
        sequence = outputs["sequence"]
        pooled = {key: value for key, value in outputs.items() if key != "sequence"}
        if self.class_token:
            pooled["cls"] = TokenAt(0, name="cls_token")(sequence)
        return Encoded(sequence, SequenceMask(name="sequence_mask")(sequence), pooled)

    def spec_arguments(self, source):
        size, _, _ = self._normalization(source)
        return {"size": tuple(size)}


@register_family
class CLIPVisionFamily(ImageTowerFamily):
    """CLIP's vision tower (see the module docstring for its outputs)."""

    name = "clip_vision"
    model_types = ("clip", "clip_vision_model")
    backbone_classes = ("CLIPBackbone", "CLIPVisionEncoder")
    defaults = VISION_DEFAULTS
    projection_weight = "visual_projection"
    class_token = True

    def _arch(self, encoder_arch, projection_dim):
        """The tower's architecture: a class token, pooled after the post-norm; every norm at
        the blocks' epsilon."""
        epsilon = encoder_arch["block_epsilon"]
        return {
            **encoder_arch,
            "class_token": True,
            "patch_bias": False,
            "pre_norm_epsilon": epsilon,
            "post_norm_epsilon": epsilon,
            "pooling": "class_token",
            "projection_dim": projection_dim,
        }

    def _load_transformers(self, source, config, weights, prefix):
        arch = self._arch(
            image_text.vision_arch(config, self.name),
            projection_dim(source, config, weights, f"{self.projection_weight}.weight"),
        )
        return self._transformers_tower(arch, weights, prefix)

    def _load_keras_hub(self, source):
        encoder, projection, width = self._keras_hub_part(source)
        # keras-hub's CLIP encoders fix every layer-norm epsilon at 1e-5.
        arch = self._arch(
            image_text.keras_hub_vision_arch(encoder, self.name, 1e-5),
            width,
        )
        network = self._build_tower(arch)
        embedding = network.get_layer("embedding")
        source_embedding = encoder.embedding
        image_text_weights.copy_weights(
            embedding.projection, source_embedding.patch_embedding, "patch embedding"
        )
        embedding.class_embedding.assign(source_embedding.class_embedding)
        embedding.position_embedding.assign(keras_hub_positions(source_embedding))
        image_text_weights.copy_weights(
            network.get_layer("pre_norm"), encoder.pre_layer_norm, "norm"
        )
        image_text_weights.copy_keras_hub_blocks(network, encoder, keras_hub_block_parts)
        image_text_weights.copy_weights(network.get_layer("post_norm"), encoder.layer_norm, "norm")
        copy_projection(network, projection)
        return network


def keras_hub_block_parts(layer):
    """The norms, attention and dense layers of a keras-hub `CLIPEncoderLayer`."""
    return layer.layer_norm_1, layer.attention, layer.layer_norm_2, layer.dense_1, layer.dense_2


class TextTowerFamily(TowerFamily):
    """A text tower: token ids padded with the checkpoint's pad id."""

    modality = "text"
    tower = "text"
    weight_probe = "embeddings.token_embedding.weight"
    default_pooling = "pooler"
    embedding_pooling = "projection"
    # SigLIP: the reference ran on ids padded to the full length without a mask, so the
    # branch takes exactly that many ids.
    fixed_length = False
    # Whether the tower masks padded positions as attention keys (a `"padding_mask"` input).
    masks_padding = True

    def _build_tower(self, arch):
        return image_text.build_text_tower(arch, f"{self.name}_tower")

    def _transformers_tower(self, arch, weights, prefix):
        """The tower of `arch` with its embeddings, blocks, final norm and projection (where it
        has one) filled from a Hugging Face checkpoint."""
        network = self._build_tower(arch)
        image_text_weights.assign_text_embedding(network.get_layer("embedding"), weights, prefix)
        image_text_weights.assign_blocks(network, weights, prefix, arch["num_layers"])
        image_text_weights.assign_norm(
            network.get_layer("final_norm"), weights, f"{prefix}final_layer_norm"
        )
        assign_projection(network, weights, self.projection_weight)
        return network

    def max_positions(self, network):
        return int(network.get_layer("embedding").max_length)

    def raw_input(self, network, source, max_length=None, **options):
        limit = self.max_positions(network)
        if max_length is not None and max_length > limit:
            raise ValueError(
                f"pretrained: max_length={max_length} is longer than the {limit} positions of "
                f"this {self.name} checkpoint."
            )
        if max_length is None and self.fixed_length:
            max_length = limit
        return keras.Input(shape=(max_length,), dtype="int32", name="text")

    def encode(self, network, raw, source, training=None):
        mask = self.padding_mask(raw, source)
        inputs = {"token_ids": raw}
        if self.masks_padding:
            inputs["padding_mask"] = mask
        outputs = network(inputs, training=training)
        pooled = {key: value for key, value in outputs.items() if key != "sequence"}
        return Encoded(outputs["sequence"], mask, pooled)

    def checkpoint_max_length(self, source):
        if source.format == "keras_hub":
            encoder, _, _ = self._keras_hub_part(source)
            return int(encoder.max_sequence_length)
        return int(tower_config(source, self.tower, self.defaults)["max_position_embeddings"])

    def special_ids(self, source):
        raise NotImplementedError(f"{type(self).__name__}.special_ids")

    def padding_mask(self, raw, source):
        ids = self.special_ids(source)
        return RightPaddingMask(
            ids["pad_id"], padding_is_end=ids["pad_id"] == ids["end_id"], name="sequence_mask"
        )(raw)

    def spec_arguments(self, source):
        """`pad_id`, `start_id`, `end_id` (None where the tokenizer adds none) and `max_length`
        (the checkpoint's number of positions): `tokenizer(source)` ids, then the start id,
        the ids, the end id, padded with the pad id, give the reference tokenizer's ids."""
        arguments = dict(self.special_ids(source))
        arguments["max_length"] = self.checkpoint_max_length(source)
        return arguments


@register_family
class CLIPTextFamily(TextTowerFamily):
    """CLIP's text tower (see the module docstring for its outputs).

    Its tokenizer (`tokenizer(source)`) is CLIP's byte-level BPE: text NFC-normalised,
    whitespace runs made one space, lower-cased, split into words, digits and punctuation runs,
    each word's last symbol marked `</w>`. The ids of a text are `<|startoftext|>`, its tokens,
    `<|endoftext|>`, padded with the tokenizer's pad token (`<|endoftext|>` in OpenAI's).
    """

    name = "clip_text"
    model_types = ("clip", "clip_text_model")
    backbone_classes = ("CLIPBackbone", "CLIPTextEncoder")
    defaults = TEXT_DEFAULTS
    projection_weight = "text_projection"

    def _arch(self, encoder_arch, final_norm_epsilon, end_id, projection_dim):
        """The tower's architecture: causal, padding masked, pooled at the end token (at the
        largest id with `end_id` None)."""
        return {
            **encoder_arch,
            "final_norm_epsilon": final_norm_epsilon,
            "causal": True,
            "padding_mask": True,
            "pooling": "end_token",
            "end_id": end_id,
            "projection_dim": projection_dim,
        }

    def _load_transformers(self, source, config, weights, prefix):
        eos = int(config["eos_token_id"])
        arch = self._arch(
            image_text.text_arch(config, self.name),
            float(config["layer_norm_eps"]),
            # As the reference: `eos_token_id == 2` (configs older than the fix of the end
            # id) pools at the largest id, any other value at the first end token.
            None if eos == 2 else eos,
            projection_dim(source, config, weights, f"{self.projection_weight}.weight"),
        )
        return self._transformers_tower(arch, weights, prefix)

    def _load_keras_hub(self, source):
        encoder, projection, width = self._keras_hub_part(source)
        # keras-hub's CLIP text encoder: blocks at epsilon 1e-5, its final norm at 1e-6; it
        # pools at the largest id.
        arch = self._arch(
            image_text.keras_hub_text_arch(source, encoder, self.name, 1e-5),
            1e-6,
            None,
            width,
        )
        network = self._build_tower(arch)
        embedding = network.get_layer("embedding")
        embedding.token_embedding.embeddings.assign(encoder.embedding.token_embedding.embeddings)
        embedding.position_embeddings.assign(
            encoder.embedding.position_embedding.position_embeddings
        )
        image_text_weights.copy_keras_hub_blocks(network, encoder, keras_hub_block_parts)
        image_text_weights.copy_weights(network.get_layer("final_norm"), encoder.layer_norm, "norm")
        copy_projection(network, projection)
        return network

    def special_ids(self, source):
        from mmkeras.pretrained.clip_tokenizer import clip_special_ids

        return clip_special_ids(source)

    def tokenizer(self, source):
        from mmkeras.pretrained.clip_tokenizer import CLIPTokenizer

        return CLIPTokenizer.from_source(source)


__all__ = [
    "CLIPTextFamily",
    "CLIPVisionFamily",
    "ImageTowerFamily",
    "TextTowerFamily",
    "TowerFamily",
]
