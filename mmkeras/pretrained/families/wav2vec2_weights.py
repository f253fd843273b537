"""Reading a Hugging Face wav2vec2 / HuBERT checkpoint into the network that `wav2vec2` builds:
one weight at a time from `model.safetensors`, every weight of the network found.

The network's layer names, which the builder gives and the reader looks up, are stated here.
"""

import numpy as np

from mmkeras.pretrained.families.safetensors_checkpoint import SafetensorsCheckpoint

FEATURE_ENCODER = "feature_encoder"
FEATURE_PROJECTION = "feature_projection"
POSITIONAL_EMBEDDING = "positional_embedding"
ENCODER_LAYER_NORM = "encoder_layer_norm"


def transformer_layer_name(index):
    return f"transformer_layer_{index}"


class CheckpointReader(SafetensorsCheckpoint):
    """Reads named tensors of a local checkpoint's safetensors file(s) as numpy arrays.

    Names are given without the base model's prefix; a task checkpoint (`Wav2Vec2ForCTC`,
    `...ForSequenceClassification`) stores them under `"<prefix>."`, a base model without it.
    """

    def __init__(self, source, base_prefix):
        super().__init__(source)
        self.base_prefix = base_prefix

    def found(self, names):
        base = f"{self.base_prefix}."
        self.prefix = base if any(name.startswith(base) for name in names) else ""

    def missing(self, key):
        return (
            f"pretrained source {self.source.source!r}: the checkpoint has no weight "
            f"{key!r} that this {self.source.model_type} architecture needs (its config "
            "and weights disagree)."
        )


def _positional_conv_kernel(reader):
    """The positional convolution's kernel `(out, in / groups, taps)`, weight norm folded in.

    Weight normalisation over dim 2 keeps a magnitude `g` `(1, 1, taps)` and a direction `v`:
    `w = g * v / ||v||`, the norm taken over the first two axes for each tap. Recent
    checkpoints name them `parametrizations.weight.original0/1`, older ones `weight_g/v`.
    """
    base = "encoder.pos_conv_embed.conv."
    for g_name, v_name in (
        ("parametrizations.weight.original0", "parametrizations.weight.original1"),
        ("weight_g", "weight_v"),
    ):
        if base + g_name in reader:
            g = reader[base + g_name].astype("float32")
            v = reader[base + v_name].astype("float32")
            norm = np.sqrt(np.sum(np.square(v), axis=(0, 1), keepdims=True))
            return g * v / norm
    return reader[base + "weight"]


def assign_weights(network, settings, reader):
    """Copies the checkpoint's weights into `network`; every weight must be found."""
    assignments = []

    def put(variable, value):
        value = np.asarray(value)
        if tuple(variable.shape) != value.shape:
            raise ValueError(
                f"pretrained source {reader.source.source!r}: weight for {variable.path} has "
                f"shape {value.shape}; the model built from config.json needs "
                f"{tuple(variable.shape)}."
            )
        assignments.append((variable, value))

    def dense(layer, name):
        put(layer.kernel, reader[f"{name}.weight"].T)
        put(layer.bias, reader[f"{name}.bias"])

    def norm(layer, name):
        put(layer.gamma, reader[f"{name}.weight"])
        put(layer.beta, reader[f"{name}.bias"])

    encoder = network.get_layer(FEATURE_ENCODER)
    for index, conv in enumerate(encoder.conv_layers):
        name = f"feature_extractor.conv_layers.{index}"
        put(conv.kernel, reader[f"{name}.conv.weight"].transpose(2, 1, 0))
        if settings["conv_bias"]:
            put(conv.bias, reader[f"{name}.conv.bias"])
        if settings["feat_extract_norm"] == "layer":
            norm(encoder.layer_norms[index], f"{name}.layer_norm")
    if settings["feat_extract_norm"] == "group":
        put(
            encoder.group_norm_gamma,
            reader["feature_extractor.conv_layers.0.layer_norm.weight"],
        )
        put(encoder.group_norm_beta, reader["feature_extractor.conv_layers.0.layer_norm.bias"])

    projection = network.get_layer(FEATURE_PROJECTION)
    if settings["feat_proj_layer_norm"]:
        norm(projection.norm, "feature_projection.layer_norm")
    dense(projection.projection, "feature_projection.projection")

    positional = network.get_layer(POSITIONAL_EMBEDDING)
    put(positional.conv.kernel, _positional_conv_kernel(reader).transpose(2, 1, 0))
    put(positional.conv.bias, reader["encoder.pos_conv_embed.conv.bias"])
    if settings["conv_pos_batch_norm"]:
        name = "encoder.pos_conv_embed.batch_norm"
        norm(positional.norm, name)
        put(positional.norm.moving_mean, reader[f"{name}.running_mean"])
        put(positional.norm.moving_variance, reader[f"{name}.running_var"])
    norm(network.get_layer(ENCODER_LAYER_NORM), "encoder.layer_norm")

    for index in range(settings["num_hidden_layers"]):
        layer = network.get_layer(transformer_layer_name(index))
        name = f"encoder.layers.{index}"
        dense(layer.query, f"{name}.attention.q_proj")
        dense(layer.key, f"{name}.attention.k_proj")
        dense(layer.value, f"{name}.attention.v_proj")
        dense(layer.attention_output, f"{name}.attention.out_proj")
        norm(layer.attention_norm, f"{name}.layer_norm")
        dense(layer.intermediate, f"{name}.feed_forward.intermediate_dense")
        dense(layer.ffn_output, f"{name}.feed_forward.output_dense")
        norm(layer.output_norm, f"{name}.final_layer_norm")

    assigned = {id(variable) for variable, _ in assignments}
    missed = [
        v.path for v in network.weights if id(v) not in assigned and "seed_generator" not in v.path
    ]
    if missed:  # a layer this reader does not know: a bug here, not in the checkpoint
        raise RuntimeError(f"{network.name}: no checkpoint weight read into {missed}")
    for variable, value in assignments:
        variable.assign(value.astype(variable.dtype))


__all__ = [
    "CheckpointReader",
    "ENCODER_LAYER_NORM",
    "FEATURE_ENCODER",
    "FEATURE_PROJECTION",
    "POSITIONAL_EMBEDDING",
    "assign_weights",
    "transformer_layer_name",
]
