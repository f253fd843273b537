"""Reading the weights of image-text checkpoints (CLIP, SigLIP) into the towers that
`image_text` builds: from a Hugging Face `model.safetensors` (PyTorch layouts, tensor by
tensor) or from the layers of a keras-hub `CLIPBackbone` / `SigLIPBackbone` preset.
"""

import keras
import numpy as np

from mmkeras.pretrained.families.safetensors_checkpoint import SafetensorsCheckpoint

# === Hugging Face weights ===


class SafetensorWeights(SafetensorsCheckpoint):
    """The tensors of a CLIP / SigLIP checkpoint's `model.safetensors` (or its shards), as
    float32 arrays, by their full names.

    Use it as a context manager. A tower's names sit below a prefix found once from a name the
    tower must have (`find_prefix`): a full-model checkpoint holds
    `vision_model.embeddings...`, a checkpoint of one tower may hold `embeddings...` alone.
    """

    def find_prefix(self, candidates, probe):
        """The first of `candidates` under which the checkpoint holds `probe`."""
        for prefix in candidates:
            if prefix + probe in self:
                return prefix
        raise ValueError(
            f"pretrained source {self.source.source!r}: the checkpoint holds no "
            f"{' or '.join(p + probe for p in candidates)!r}; is it a checkpoint of this "
            "family?"
        )

    def __getitem__(self, name):
        return np.asarray(super().__getitem__(name), dtype="float32")


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
    _set(dense.kernel, weights[f"{name}.weight"].T, f"{name}.weight")
    if bias:
        _set(dense.bias, weights[f"{name}.bias"], f"{name}.bias")


def assign_norm(norm, weights, name):
    _set(norm.gamma, weights[f"{name}.weight"], f"{name}.weight")
    _set(norm.beta, weights[f"{name}.bias"], f"{name}.bias")


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
            weights[f"{name}.self_attn.{part}.weight"],
            weights[f"{name}.self_attn.{part}.bias"],
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
    conv = weights[f"{name}.patch_embedding.weight"]
    _set(embedding.projection.kernel, conv.transpose(2, 3, 1, 0), f"{name}.patch_embedding")
    if embedding.use_bias:
        _set(embedding.projection.bias, weights[f"{name}.patch_embedding.bias"], name)
    if embedding.class_token:
        _set(embedding.class_embedding, weights[f"{name}.class_embedding"], name)
    _set(
        embedding.position_embedding,
        weights[f"{name}.position_embedding.weight"],
        f"{name}.position_embedding",
    )


def assign_text_embedding(embedding, weights, prefix):
    name = f"{prefix}embeddings"
    _set(
        embedding.token_embedding.embeddings,
        weights[f"{name}.token_embedding.weight"],
        f"{name}.token_embedding",
    )
    _set(
        embedding.position_embeddings,
        weights[f"{name}.position_embedding.weight"],
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
    with SafetensorWeights(source) as weights:
        if "logit_scale" not in weights:
            raise ValueError(
                f"pretrained source {source.source!r}: the checkpoint has no logit_scale (a "
                "checkpoint of one tower has none; a full CLIP or SigLIP model has)."
            )
        scale = float(weights["logit_scale"].reshape(()))
        bias = float(weights["logit_bias"].reshape(())) if "logit_bias" in weights else None
    return scale, bias


__all__ = [
    "SafetensorWeights",
    "assign_attention",
    "assign_blocks",
    "assign_linear",
    "assign_norm",
    "assign_patch_embedding",
    "assign_text_embedding",
    "copy_keras_hub_blocks",
    "copy_weights",
    "logit_parameters",
]
