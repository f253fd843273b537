"""SigLIP's vision and text towers (Hugging Face `siglip` checkpoints, keras-hub `SigLIPBackbone`).

keras-hub 0.32 has no Hugging Face converter for SigLIP: the towers are built here with mmkeras
layers (`image_text.py` says why not from keras-hub's encoders) and filled from
`model.safetensors`, or from a keras-hub preset's encoders.

Outputs, as Hugging Face's `SiglipModel` defines them:

- vision: `sequence` = `post_layernorm` of the last block's output (no class token;
  `vision_model.last_hidden_state`); `"pooler"` = the multihead attention pooling head's output
  (`pooler_output`, which is also `image_embeds` before their L2 normalisation).
- text: `sequence` = `final_layer_norm` of the encoder's output (`last_hidden_state`);
  `"pooler"` = `head(sequence[:, -1])` (`pooler_output` = `text_embeds` before normalisation).

SigLIP was trained on texts padded to the full length (64 positions in Google's checkpoints)
with its end token, without an attention mask, and pools the LAST position: the reference runs
that way and so does this tower, which takes ids padded to exactly that length (the branch's
default `max_length`). A shorter padding changes every output. The branch's `sequence_mask`
still marks the real positions (the ids before the padding, and the end token).
"""

from mmkeras.pretrained.families import image_text, image_text_weights
from mmkeras.pretrained.families.clip import (
    ImageTowerFamily,
    TextTowerFamily,
    keras_hub_positions,
)
from mmkeras.pretrained.family import register_family

# `SiglipVisionConfig` / `SiglipTextConfig` defaults, for configs that leave a key out.
VISION_DEFAULTS = {
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "image_size": 224,
    "patch_size": 16,
    "hidden_act": "gelu_pytorch_tanh",
    "layer_norm_eps": 1e-6,
    "vision_use_head": True,
}
TEXT_DEFAULTS = {
    "vocab_size": 32000,
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "max_position_embeddings": 64,
    "hidden_act": "gelu_pytorch_tanh",
    "layer_norm_eps": 1e-6,
}


@register_family
class SigLIPVisionFamily(ImageTowerFamily):
    """SigLIP's vision tower (see the module docstring for its outputs)."""

    name = "siglip_vision"
    model_types = ("siglip", "siglip_vision_model")
    backbone_classes = ("SigLIPBackbone", "SigLIPVisionEncoder")
    defaults = VISION_DEFAULTS
    default_mean = [0.5, 0.5, 0.5]
    default_std = [0.5, 0.5, 0.5]
    class_token = False
    embedding_pooling = "pooler"

    def _arch(self, encoder_arch, post_norm_epsilon, use_head):
        """The tower's architecture: no class token, the post-normed sequence pooled by an
        attention head (with `use_head`) at the blocks' epsilon."""
        return {
            **encoder_arch,
            "class_token": False,
            "patch_bias": True,
            "pre_norm_epsilon": None,
            "post_norm_epsilon": post_norm_epsilon,
            "pooling": "attention" if use_head else None,
            "head_epsilon": encoder_arch["block_epsilon"],
            "projection_dim": None,
        }

    def _load_transformers(self, source, config, weights, prefix):
        use_head = bool(config["vision_use_head"])
        arch = self._arch(
            image_text.vision_arch(config, self.name), float(config["layer_norm_eps"]), use_head
        )
        network = self._transformers_tower(arch, weights, prefix)
        if use_head:
            _assign_head(network.get_layer("head"), weights, f"{prefix}head")
        return network

    def _load_keras_hub(self, source):
        encoder, _, _ = self._keras_hub_part(source)
        # keras-hub's SigLIP vision encoder: its post-norm at epsilon 1e-6 whatever
        # `layer_norm_epsilon` says (which sets the blocks' and the head's).
        epsilon = float(encoder.layer_norm_epsilon)
        arch = self._arch(image_text.keras_hub_vision_arch(encoder, self.name, epsilon), 1e-6, True)
        network = self._build_tower(arch)
        embedding = network.get_layer("embedding")
        image_text_weights.copy_weights(
            embedding.projection, encoder.embedding.patch_embedding, "patch embedding"
        )
        embedding.position_embedding.assign(keras_hub_positions(encoder.embedding))
        image_text_weights.copy_keras_hub_blocks(network, encoder, keras_hub_block_parts)
        image_text_weights.copy_weights(
            network.get_layer("post_norm"), encoder.post_layer_norm, "norm"
        )
        head, source_head = network.get_layer("head"), encoder.head
        head.probe.assign(source_head.probe)
        image_text_weights.copy_weights(head.attention, source_head.attention, "attention")
        image_text_weights.copy_weights(head.layer_norm, source_head.layer_norm, "norm")
        image_text_weights.copy_weights(head.mlp_inner, source_head.mlp.fc1, "dense layer")
        image_text_weights.copy_weights(head.mlp_outer, source_head.mlp.fc2, "dense layer")
        return network


def keras_hub_block_parts(layer):
    """The norms, attention and dense layers of a keras-hub SigLIP encoder layer."""
    return layer.layer_norm1, layer.self_attn, layer.layer_norm2, layer.mlp.fc1, layer.mlp.fc2


def _assign_head(head, weights, name):
    """SigLIP's `SiglipMultiheadAttentionPoolingHead`: a probe, a `torch.nn.MultiheadAttention`
    (query, key and value in one `in_proj`), a layer norm and an MLP."""
    probe = weights[f"{name}.probe"]
    head.probe.assign(probe.reshape(tuple(head.probe.shape)))
    kernels = weights[f"{name}.attention.in_proj_weight"]
    biases = weights[f"{name}.attention.in_proj_bias"]
    width = kernels.shape[0] // 3
    parts = [
        (kernels[i * width : (i + 1) * width], biases[i * width : (i + 1) * width])
        for i in range(3)
    ]
    output = (
        weights[f"{name}.attention.out_proj.weight"],
        weights[f"{name}.attention.out_proj.bias"],
    )
    image_text_weights.assign_attention(head.attention, *parts, output)
    image_text_weights.assign_norm(head.layer_norm, weights, f"{name}.layernorm")
    image_text_weights.assign_linear(head.mlp_inner, weights, f"{name}.mlp.fc1")
    image_text_weights.assign_linear(head.mlp_outer, weights, f"{name}.mlp.fc2")


@register_family
class SigLIPTextFamily(TextTowerFamily):
    """SigLIP's text tower (see the module docstring for its outputs).

    Its tokenizer (`tokenizer(source)`) is SigLIP's: the text lower-cased, stripped of ASCII
    punctuation, whitespace runs made one space, then SentencePiece (see
    `mmkeras.pretrained.siglip_tokenizer`). The ids of a text are its tokens and `</s>`, padded
    with `</s>` to the full length; there is no start token.
    """

    name = "siglip_text"
    model_types = ("siglip", "siglip_text_model")
    backbone_classes = ("SigLIPBackbone", "SigLIPTextEncoder")
    defaults = TEXT_DEFAULTS
    fixed_length = True
    masks_padding = False
    embedding_pooling = "pooler"

    def _arch(self, encoder_arch, head_dim):
        """The tower's architecture: bidirectional, unmasked, the last position through a dense
        head; the final norm at the blocks' epsilon."""
        return {
            **encoder_arch,
            "final_norm_epsilon": encoder_arch["block_epsilon"],
            "causal": False,
            "padding_mask": False,
            "pooling": "last",
            "head_dim": head_dim,
            "projection_dim": None,
        }

    def _load_transformers(self, source, config, weights, prefix):
        arch = self._arch(
            image_text.text_arch(config, self.name),
            int(config.get("projection_size") or config["hidden_size"]),
        )
        network = self._transformers_tower(arch, weights, prefix)
        image_text_weights.assign_linear(network.get_layer("head"), weights, f"{prefix}head")
        return network

    def _load_keras_hub(self, source):
        encoder, _, _ = self._keras_hub_part(source)
        epsilon = float(encoder.layer_norm_epsilon)
        arch = self._arch(
            image_text.keras_hub_text_arch(source, encoder, self.name, epsilon),
            int(encoder.head.units),
        )
        network = self._build_tower(arch)
        embedding = network.get_layer("embedding")
        embedding.token_embedding.embeddings.assign(encoder.embedding.token_embedding.embeddings)
        embedding.position_embeddings.assign(encoder.embedding.position_embedding.embeddings)
        image_text_weights.copy_keras_hub_blocks(network, encoder, keras_hub_block_parts)
        image_text_weights.copy_weights(
            network.get_layer("final_norm"), encoder.post_layer_norm, "norm"
        )
        image_text_weights.copy_weights(network.get_layer("head"), encoder.head, "dense layer")
        return network

    def special_ids(self, source):
        from mmkeras.pretrained.siglip_tokenizer import siglip_special_ids

        return siglip_special_ids(source)

    def tokenizer(self, source):
        from mmkeras.pretrained.siglip_tokenizer import SigLIPTokenizer

        return SigLIPTokenizer.from_source(source)


__all__ = ["SigLIPTextFamily", "SigLIPVisionFamily"]
