"""What the towers of image-text checkpoints (CLIP, SigLIP) share: their architecture, built
from mmkeras layers.

A tower is a functional `keras.Model` of registered layers (`PatchEmbedding`,
`TransformerEncoderBlock`, `MultiheadAttentionPooling`, `EndTokenPooling`, Keras layer norms
and dense layers), built from an architecture dict that states every choice that changes the
outputs (activation, each layer norm's epsilon, causal attention, where the last norm sits, the
pooling). `image_text_weights` fills the same towers from a Hugging Face `model.safetensors`
or from a keras-hub `CLIPBackbone` / `SigLIPBackbone` preset. keras-hub's own encoders are not
used because they differ from the reference in ways their configs cannot express: fixed
layer-norm epsilons (1e-5 in CLIP's blocks, 1e-6 in CLIP's final text norm and SigLIP's vision
post-norm, whatever the checkpoint says), no padding mask in CLIP's text attention, no
sequence output from SigLIP's encoders, and CLIP's vision post-norm over every position where
the reference normalises the pooled class token only.

Vision tower: input `"pixel_values"` `(batch, size, size, 3)` (normalised); outputs
`{"sequence", "pooler"}` plus `"projection"` where the checkpoint projects (CLIP). Text tower:
inputs `{"token_ids"}` (plus `"padding_mask"` for a tower that masks padding, CLIP); the same
outputs.

The weight readers (`image_text_weights`) and the tokenizer base
(`mmkeras.pretrained.string_tokenizer`) are importable from here too.
"""

import keras

from mmkeras.layers.modeling import (
    EndTokenPooling,
    MultiheadAttentionPooling,
    PatchEmbedding,
    TokenAndPositionEmbedding,
    TokenAt,
    TransformerEncoderBlock,
    gelu_tanh,
    quick_gelu,
)
from mmkeras.pretrained import string_tokenizer
from mmkeras.pretrained.families import image_text_weights

# The weight readers and the tokenizer base are importable from here as well.
from mmkeras.pretrained.families.image_text_weights import *  # noqa: F403
from mmkeras.pretrained.string_tokenizer import *  # noqa: F403

# Hugging Face `hidden_act` names -> Keras activations (Keras's "gelu" is the exact one).
ACTIVATIONS = {
    "quick_gelu": quick_gelu,
    "gelu": "gelu",
    "gelu_pytorch_tanh": gelu_tanh,
    "gelu_new": gelu_tanh,
    "relu": "relu",
}


def keras_activation(name, where):
    """The Keras activation for a Hugging Face `hidden_act` (or keras-hub activation) name."""
    named = {**ACTIVATIONS, "gelu_approximate": gelu_tanh}
    if name not in named:
        raise ValueError(
            f"{where}: the activation {name!r} is not supported; supported: {sorted(named)}."
        )
    return named[name]


# === Architecture ===


def encoder_arch(config, where):
    """The encoder blocks' keys of an architecture dict, from a Hugging Face tower config."""
    return {
        "hidden_dim": int(config["hidden_size"]),
        "num_layers": int(config["num_hidden_layers"]),
        "num_heads": int(config["num_attention_heads"]),
        "intermediate_dim": int(config["intermediate_size"]),
        "activation": keras_activation(config["hidden_act"], where),
        "block_epsilon": float(config["layer_norm_eps"]),
    }


def keras_hub_encoder_arch(encoder, where, block_epsilon):
    """The encoder blocks' keys of an architecture dict, from a keras-hub CLIP / SigLIP encoder
    (whose blocks' epsilon its config may not state)."""
    return {
        "hidden_dim": int(encoder.hidden_dim),
        "num_layers": int(encoder.num_layers),
        "num_heads": int(encoder.num_heads),
        "intermediate_dim": int(encoder.intermediate_dim),
        "activation": keras_activation(encoder.intermediate_activation, where),
        "block_epsilon": block_epsilon,
    }


def vision_arch(config, where):
    """A vision tower's size and encoder keys from a Hugging Face `vision_config`."""
    return {
        "image_size": int(config["image_size"]),
        "patch_size": int(config["patch_size"]),
        **encoder_arch(config, where),
    }


def keras_hub_vision_arch(encoder, where, block_epsilon):
    """A vision tower's size and encoder keys from a keras-hub vision encoder."""
    return {
        "image_size": int(encoder.image_shape[0]),
        "patch_size": int(encoder.patch_size),
        **keras_hub_encoder_arch(encoder, where, block_epsilon),
    }


def text_arch(config, where):
    """A text tower's vocabulary, positions and encoder keys from a Hugging Face `text_config`."""
    return {
        "vocab_size": int(config["vocab_size"]),
        "max_positions": int(config["max_position_embeddings"]),
        **encoder_arch(config, where),
    }


def keras_hub_text_arch(source, encoder, where, block_epsilon):
    """A text tower's vocabulary, positions and encoder keys from a keras-hub text encoder,
    which must embed tokens at its hidden size."""
    if int(encoder.embedding_dim) != int(encoder.hidden_dim):
        raise ValueError(
            f"pretrained source {source.source!r}: a {type(encoder).__name__} whose embedding size "
            f"({encoder.embedding_dim}) differs from its hidden size ({encoder.hidden_dim}) "
            "is not supported."
        )
    return {
        "vocab_size": int(encoder.vocabulary_size),
        "max_positions": int(encoder.max_sequence_length),
        **keras_hub_encoder_arch(encoder, where, block_epsilon),
    }


def build_vision_tower(arch, name):
    """A vision tower from an architecture dict.

    Keys: `image_size`, `patch_size`, `hidden_dim`, `num_layers`, `num_heads`,
    `intermediate_dim`, `activation` (a Keras activation), `block_epsilon`, `class_token`,
    `patch_bias`, `pre_norm_epsilon` (None: no norm before the blocks), `post_norm_epsilon`,
    `pooling` (`"class_token"`: the class token's state after the post-norm, which leaves the
    sequence un-normalised, as CLIP; `"attention"`: the post-normed sequence pooled by a
    `MultiheadAttentionPooling` head, as SigLIP; None: the post-normed sequence, no pooler),
    `head_epsilon`, `projection_dim` (None: none).
    """
    size = arch["image_size"]
    pixels = keras.Input(shape=(size, size, 3), name="pixel_values")
    x = PatchEmbedding(
        arch["hidden_dim"],
        arch["patch_size"],
        class_token=arch["class_token"],
        use_bias=arch["patch_bias"],
        name="embedding",
    )(pixels)
    if arch["pre_norm_epsilon"] is not None:
        x = keras.layers.LayerNormalization(epsilon=arch["pre_norm_epsilon"], name="pre_norm")(x)
    x = _blocks(x, arch, causal=False, mask=None)
    post_norm = keras.layers.LayerNormalization(epsilon=arch["post_norm_epsilon"], name="post_norm")
    outputs = {}
    if arch["pooling"] == "class_token":
        outputs["sequence"] = x
        outputs["pooler"] = post_norm(TokenAt(0, name="class_token")(x))
    else:
        outputs["sequence"] = post_norm(x)
    if arch["pooling"] == "attention":
        outputs["pooler"] = MultiheadAttentionPooling(
            arch["num_heads"],
            arch["intermediate_dim"],
            activation=arch["activation"],
            layer_norm_epsilon=arch["head_epsilon"],
            name="head",
        )(outputs["sequence"])
    if arch.get("projection_dim"):
        outputs["projection"] = keras.layers.Dense(
            arch["projection_dim"], use_bias=False, name="projection"
        )(outputs["pooler"])
    return keras.Model(pixels, outputs, name=name)


def build_text_tower(arch, name):
    """A text tower from an architecture dict.

    Keys: `vocab_size`, `max_positions`, `hidden_dim`, `num_layers`, `num_heads`,
    `intermediate_dim`, `activation`, `block_epsilon`, `final_norm_epsilon`, `causal` (bool),
    `padding_mask` (bool: padded positions are masked as attention keys; the tower then takes
    a `"padding_mask"` input), `pooling` (`"end_token"`: the state at the first `end_id`, or
    at the largest id with `end_id` None, as CLIP; `"last"`: the last position through a dense
    `head` of width `head_dim`, as SigLIP), `end_id`, `head_dim`, `projection_dim` (None: none).
    """
    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    inputs = {"token_ids": ids}
    mask = None
    if arch["padding_mask"]:
        mask = keras.Input(shape=(None,), dtype="bool", name="padding_mask")
        inputs["padding_mask"] = mask
    x = TokenAndPositionEmbedding(
        arch["vocab_size"], arch["max_positions"], arch["hidden_dim"], name="embedding"
    )(ids)
    x = _blocks(x, arch, causal=arch["causal"], mask=mask)
    sequence = keras.layers.LayerNormalization(
        epsilon=arch["final_norm_epsilon"], name="final_norm"
    )(x)
    if arch["pooling"] == "end_token":
        pooler = EndTokenPooling(arch["end_id"], name="end_token")((sequence, ids))
    else:
        pooler = keras.layers.Dense(arch["head_dim"], name="head")(
            TokenAt(-1, name="last_token")(sequence)
        )
    outputs = {"sequence": sequence, "pooler": pooler}
    if arch.get("projection_dim"):
        outputs["projection"] = keras.layers.Dense(
            arch["projection_dim"], use_bias=False, name="projection"
        )(pooler)
    return keras.Model(inputs, outputs, name=name)


def _blocks(x, arch, causal, mask):
    for index in range(arch["num_layers"]):
        block = TransformerEncoderBlock(
            arch["num_heads"],
            arch["intermediate_dim"],
            activation=arch["activation"],
            layer_norm_epsilon=arch["block_epsilon"],
            use_causal_mask=causal,
            name=f"encoder_block_{index}",
        )
        x = block(x) if mask is None else block(x, mask=mask)
    return x


def tower_blocks(network):
    """A tower's blocks, bottom to top: the embedding (and pre-norm) with the first encoder
    block, every other block alone, the last with the norms, heads and projection above it."""
    layers = [layer for layer in network.layers if not isinstance(layer, keras.layers.InputLayer)]
    blocks = [[layer] for layer in layers if layer.name.startswith("encoder_block_")]
    first = layers.index(blocks[0][0])
    last = layers.index(blocks[-1][0])
    blocks[0][:0] = [layer for layer in layers[:first] if layer.weights]
    blocks[-1].extend(layer for layer in layers[last + 1 :] if layer.weights)
    return blocks


def enable_tower_lora(network, rank):
    """Freezes a tower and adds rank-`rank` LoRA adapters to every attention's query and value
    projections (the encoder blocks' and an attention-pooling head's)."""
    network.trainable = False
    for layer in network.layers:
        attention = getattr(layer, "attention", None)
        if isinstance(attention, keras.layers.MultiHeadAttention):
            for dense in (attention.query_dense, attention.value_dense):
                dense.trainable = True
                dense.enable_lora(rank)


__all__ = [
    *image_text_weights.__all__,
    *string_tokenizer.__all__,
    "build_text_tower",
    "build_vision_tower",
    "enable_tower_lora",
    "encoder_arch",
    "keras_activation",
    "keras_hub_encoder_arch",
    "keras_hub_text_arch",
    "keras_hub_vision_arch",
    "text_arch",
    "tower_blocks",
    "vision_arch",
]
