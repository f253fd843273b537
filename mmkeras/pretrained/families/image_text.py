"""What the towers of image-text checkpoints (CLIP, SigLIP) share: their architecture, built
from mmkeras layers, and the reading of their weights.

A tower is a functional `keras.Model` of registered layers (`PatchEmbedding`,
`TransformerEncoderBlock`, `MultiheadAttentionPooling`, `EndTokenPooling`, Keras layer norms
and dense layers), built from an architecture dict that states every choice that changes the
outputs (activation, each layer norm's epsilon, causal attention, where the last norm sits, the
pooling). The same towers are filled from a Hugging Face `model.safetensors` (read tensor by
tensor with `safetensors.safe_open`) or from a keras-hub `CLIPBackbone` / `SigLIPBackbone`
preset. keras-hub's own encoders are not used because they differ from the reference in ways
their configs cannot express: fixed layer-norm epsilons (1e-5 in CLIP's blocks, 1e-6 in CLIP's
final text norm and SigLIP's vision post-norm, whatever the checkpoint says), no padding mask
in CLIP's text attention, no sequence output from SigLIP's encoders, and CLIP's vision
post-norm over every position where the reference normalises the pooled class token only.

Vision tower: input `"pixel_values"` `(batch, size, size, 3)` (normalised); outputs
`{"sequence", "pooler"}` plus `"projection"` where the checkpoint projects (CLIP). Text tower:
inputs `{"token_ids"}` (plus `"padding_mask"` for a tower that masks padding, CLIP); the same
outputs.
"""

import json

import keras
import numpy as np

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


# === Hugging Face weights ===


class SafetensorWeights:
    """Reads tensors by name from a checkpoint's `model.safetensors` (or its shards).

    `prefix` is found once from a name the tower must have: a full-model checkpoint holds
    `vision_model.embeddings...`, a checkpoint of one tower may hold `embeddings...` alone.
    """

    def __init__(self, source):
        self.source = source
        index = source.file("model.safetensors.index.json")
        if index is not None:
            with open(index, encoding="utf-8") as f:
                shards = json.load(f)["weight_map"]
            self.files = {name: source.file(shard) for name, shard in shards.items()}
        else:
            path = source.file("model.safetensors")
            if path is None:
                raise ValueError(
                    f"pretrained source {source.source!r}: the checkpoint has no "
                    f"model.safetensors (looked in {source.location}); mmkeras reads the "
                    "safetensors format only (save with `save_pretrained(..., "
                    "safe_serialization=True)`)."
                )
            from safetensors import safe_open

            with safe_open(path, framework="np") as f:
                self.files = {name: path for name in f.keys()}
        self._open = {}

    def names(self):
        return set(self.files)

    def find_prefix(self, candidates, probe):
        for prefix in candidates:
            if prefix + probe in self.files:
                return prefix
        raise ValueError(
            f"pretrained source {self.source.source!r}: the checkpoint holds no "
            f"{' or '.join(p + probe for p in candidates)!r}; is it a checkpoint of this "
            "family?"
        )

    def get(self, name):
        if name not in self.files:
            raise ValueError(
                f"pretrained source {self.source.source!r}: the checkpoint has no tensor {name!r}."
            )
        from safetensors import safe_open

        path = self.files[name]
        if path not in self._open:
            self._open[path] = safe_open(path, framework="np")
        return np.asarray(self._open[path].get_tensor(name), dtype="float32")

    def has(self, name):
        return name in self.files


def _set(variable, value, name):
    value = np.asarray(value, dtype="float32")
    if tuple(variable.shape) != value.shape:
        raise ValueError(
            f"pretrained: {name} has shape {value.shape}, the tower expects "
            f"{tuple(variable.shape)}; the checkpoint's config and weights disagree."
        )
    variable.assign(value)


def assign_linear(dense, weights, name, bias=True):
    """A PyTorch `nn.Linear` (`weight` `(out, in)`) into a Keras `Dense`."""
    _set(dense.kernel, weights.get(f"{name}.weight").T, f"{name}.weight")
    if bias:
        _set(dense.bias, weights.get(f"{name}.bias"), f"{name}.bias")


def assign_norm(norm, weights, name):
    _set(norm.gamma, weights.get(f"{name}.weight"), f"{name}.weight")
    _set(norm.beta, weights.get(f"{name}.bias"), f"{name}.bias")


def assign_attention(attention, query, key, value, output):
    """Per-projection `(weight (out, in), bias)` pairs into a Keras `MultiHeadAttention`."""
    heads, head_dim = attention.num_heads, attention.key_dim
    for dense, (kernel, bias) in (
        (attention.query_dense, query),
        (attention.key_dense, key),
        (attention.value_dense, value),
    ):
        _set(dense.kernel, kernel.T.reshape(-1, heads, head_dim), "attention kernel")
        _set(dense.bias, bias.reshape(heads, head_dim), "attention bias")
    kernel, bias = output
    _set(attention.output_dense.kernel, kernel.T.reshape(heads, head_dim, -1), "attention output")
    _set(attention.output_dense.bias, bias, "attention output bias")


def assign_encoder_block(block, weights, name):
    """A Hugging Face CLIP / SigLIP encoder layer (`layer_norm1`, `self_attn`, `layer_norm2`,
    `mlp.fc1`, `mlp.fc2`) into a `TransformerEncoderBlock`."""
    assign_norm(block.attention_norm, weights, f"{name}.layer_norm1")

    def projection(part):
        return (
            weights.get(f"{name}.self_attn.{part}.weight"),
            weights.get(f"{name}.self_attn.{part}.bias"),
        )

    assign_attention(
        block.attention,
        projection("q_proj"),
        projection("k_proj"),
        projection("v_proj"),
        projection("out_proj"),
    )
    assign_norm(block.ffn_norm, weights, f"{name}.layer_norm2")
    assign_linear(block.ffn_inner, weights, f"{name}.mlp.fc1")
    assign_linear(block.ffn_outer, weights, f"{name}.mlp.fc2")


def assign_blocks(network, weights, prefix, num_layers):
    for index in range(num_layers):
        assign_encoder_block(
            network.get_layer(f"encoder_block_{index}"),
            weights,
            f"{prefix}encoder.layers.{index}",
        )


def assign_patch_embedding(embedding, weights, prefix):
    """`embeddings.patch_embedding` (a `Conv2d`, `(out, in, kh, kw)`), the class embedding where
    there is one, and the position table."""
    name = f"{prefix}embeddings"
    conv = weights.get(f"{name}.patch_embedding.weight")
    _set(embedding.projection.kernel, conv.transpose(2, 3, 1, 0), f"{name}.patch_embedding")
    if embedding.use_bias:
        _set(embedding.projection.bias, weights.get(f"{name}.patch_embedding.bias"), name)
    if embedding.class_token:
        _set(embedding.class_embedding, weights.get(f"{name}.class_embedding"), name)
    _set(
        embedding.position_embedding,
        weights.get(f"{name}.position_embedding.weight"),
        f"{name}.position_embedding",
    )


def assign_text_embedding(embedding, weights, prefix):
    name = f"{prefix}embeddings"
    _set(
        embedding.token_embedding.embeddings,
        weights.get(f"{name}.token_embedding.weight"),
        f"{name}.token_embedding",
    )
    _set(
        embedding.position_embeddings,
        weights.get(f"{name}.position_embedding.weight"),
        f"{name}.position_embedding",
    )


# === keras-hub weights ===


def copy_weights(target, source_layer, what):
    """Copies a keras-hub layer's weights into the tower's layer of the same structure."""
    values = source_layer.get_weights()
    if len(values) != len(target.weights) or any(
        tuple(v.shape) != tuple(w.shape) for v, w in zip(values, target.weights, strict=False)
    ):
        raise ValueError(
            f"pretrained: the keras-hub {what} ({source_layer.name}) does not match the tower's "
            f"{target.name}: {[v.shape for v in values]} vs "
            f"{[tuple(w.shape) for w in target.weights]}."
        )
    target.set_weights(values)


def copy_keras_hub_blocks(network, encoder, parts):
    """Copies a keras-hub encoder's layers into the tower's blocks; `parts(layer)` gives a
    layer's `(layer_norm_1, attention, layer_norm_2, dense_1, dense_2)`."""
    for index, layer in enumerate(encoder.encoder_layers):
        block = network.get_layer(f"encoder_block_{index}")
        layer_norm_1, attention, layer_norm_2, dense_1, dense_2 = parts(layer)
        copy_weights(block.attention_norm, layer_norm_1, "layer norm")
        copy_weights(block.attention, attention, "attention")
        copy_weights(block.ffn_norm, layer_norm_2, "layer norm")
        copy_weights(block.ffn_inner, dense_1, "dense layer")
        copy_weights(block.ffn_outer, dense_2, "dense layer")


# === Tokenizer files of a Hugging Face checkpoint ===


def tokenizer_config(source):
    """`tokenizer_config.json` merged over `special_tokens_map.json` (either may be missing)."""
    merged = {}
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        path = source.file(name)
        if path is not None:
            with open(path, encoding="utf-8") as f:
                merged.update(json.load(f))
    return merged


def special_token(config, key):
    """The text of a special token as a tokenizer config writes it (a string or a dict)."""
    value = config.get(key)
    if isinstance(value, dict):
        value = value.get("content")
    return value


class StringTokenizer(keras.layers.Layer):
    """The base of tokenizers of TensorFlow ops (not trainable): strings -> ragged ids.

    It takes a string, or a string tensor / list `(batch,)`, and returns ids `(batch, None)`
    (`(None,)` for one string). Subclasses define `_ids`, on a `(batch,)` string tensor.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)

    def __call__(self, inputs, *args, **kwargs):
        import tensorflow as tf

        # Python strings are not tensors to Keras: convert them first.
        return super().__call__(tf.convert_to_tensor(inputs, dtype=tf.string), *args, **kwargs)

    def call(self, inputs):
        scalar = inputs.shape.rank == 0
        if scalar:
            inputs = inputs[None]
        ids = self._ids(inputs)
        return ids[0] if scalar else ids

    def _ids(self, inputs):
        raise NotImplementedError(f"{type(self).__name__}._ids")


def logit_parameters(source):
    """`(logit_scale, logit_bias)` of a full CLIP / SigLIP checkpoint (bias None for CLIP)."""
    if source.format == "keras_hub":
        import keras_hub

        backbone = keras_hub.models.Backbone.from_preset(source.location)
        head = getattr(backbone, "clip_head", None) or getattr(backbone, "siglip_head", None)
        if head is None:
            raise ValueError(
                f"pretrained source {source.source!r} is a {type(backbone).__name__}: it has no "
                "logit scale (a full CLIPBackbone or SigLIPBackbone has)."
            )
        scale = float(keras.ops.convert_to_numpy(head.logit_scale))
        bias = getattr(head, "logit_bias", None)
        return scale, None if bias is None else float(keras.ops.convert_to_numpy(bias))
    weights = SafetensorWeights(source)
    if not weights.has("logit_scale"):
        raise ValueError(
            f"pretrained source {source.source!r}: the checkpoint has no logit_scale (a "
            "checkpoint of one tower has none; a full CLIP or SigLIP model has)."
        )
    scale = float(weights.get("logit_scale").reshape(()))
    bias = float(weights.get("logit_bias").reshape(())) if weights.has("logit_bias") else None
    return scale, bias


__all__ = [
    "SafetensorWeights",
    "StringTokenizer",
    "assign_blocks",
    "assign_linear",
    "assign_norm",
    "assign_attention",
    "assign_patch_embedding",
    "assign_text_embedding",
    "build_text_tower",
    "build_vision_tower",
    "copy_keras_hub_blocks",
    "copy_weights",
    "enable_tower_lora",
    "encoder_arch",
    "keras_activation",
    "keras_hub_encoder_arch",
    "keras_hub_text_arch",
    "keras_hub_vision_arch",
    "logit_parameters",
    "special_token",
    "text_arch",
    "tokenizer_config",
    "tower_blocks",
    "vision_arch",
]
