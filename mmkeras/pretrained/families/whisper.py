"""The Whisper audio encoder (Hugging Face `whisper` checkpoints, keras-hub `WhisperBackbone`
presets), fed a raw waveform.

The network is an encoder-only Keras model built here from Keras and mmkeras layers, not cut
out of keras-hub's `WhisperBackbone`:

- keras-hub 0.32 has no Hugging Face converter for Whisper, so the weights are assigned here
  from `model.safetensors` whichever model receives them;
- the backbone is one graph of encoder and decoder: the decoder (about three quarters of
  whisper-tiny's weights, most of them its token table) would be built only to be dropped;
- keras-hub's encoder block (`WhisperEncoder`) is not public keras-hub API, while mmkeras's
  `TransformerEncoderBlock` exposes its projections (Keras `MultiHeadAttention`'s
  `query_dense`, `key_dense`, ...), which the weight assignment and LoRA address directly.

A keras-hub preset loads through keras-hub, and its encoder's weights are copied by variable
path into the same network.

The encoder follows the reference layer for layer: `conv1` (kernel 3, stride 1, padding 1)
and `conv2` (kernel 3, stride 2, padding 1), each followed by exact GELU; the checkpoint's
position table (`embed_positions`: sinusoids in released checkpoints) added, fixed; pre-norm
Transformer blocks (`TransformerEncoderBlock`: layer norms with epsilon 1e-5, biased query,
value and output projections, a key projection without bias (a zero bias, which attention
ignores), a feed-forward network with the checkpoint's activation, exact GELU); a final layer
norm. The log-mel features are computed inside the model (`WhisperLogMel`), so the branch
takes the waveform. Training-only settings differ: the reference's three dropout rates
(`dropout`, `attention_dropout`, `activation_dropout`; all 0 in released checkpoints) become
the blocks' one rate, `dropout`, and `encoder_layerdrop` is not applied.
"""

import keras

from mmkeras.layers.modeling import (
    FixedPositionEmbedding,
    TransformerEncoderBlock,
    WaveformPaddingMask,
    WhisperLogMel,
)
from mmkeras.pretrained.families.keras_hub_family import hf_preprocessor_config
from mmkeras.pretrained.families.safetensors_checkpoint import SafetensorsCheckpoint
from mmkeras.pretrained.families.waveform_input import waveform_input
from mmkeras.pretrained.family import Encoded, Family, register_family

# Hugging Face `activation_function` values and the Keras activation that computes the same.
ACTIVATIONS = {"gelu": "gelu", "relu": "relu"}
LAYER_NORM_EPSILON = 1e-5  # torch.nn.LayerNorm's default, which every Whisper layer norm keeps
CONV_STRIDE = 2  # of conv2: two log-mel frames per encoder position

# The feature extractor of every released Whisper checkpoint, but for `feature_size` (80, or
# 128 for large-v3), which `num_mel_bins` of config.json gives.
DEFAULT_FEATURES = {"sampling_rate": 16000, "n_fft": 400, "hop_length": 160, "chunk_length": 30}


def whisper_encoder(
    num_mel_bins,
    max_source_positions,
    hidden_dim,
    num_layers,
    num_heads,
    intermediate_dim,
    activation="gelu",
    dropout=0.0,
    name="whisper_encoder",
):
    """Whisper's audio encoder: log-mel features `(batch, 2 * max_source_positions,
    num_mel_bins)` -> last hidden states `(batch, max_source_positions, hidden_dim)`.

    Layers: `conv1`, `conv2_padding`, `conv2`, `embed_positions`, `embed_dropout`,
    `layer_0` ... `layer_{num_layers - 1}` and `layer_norm`.
    """
    features = keras.Input((CONV_STRIDE * max_source_positions, num_mel_bins), name="log_mel")
    x = keras.layers.Conv1D(hidden_dim, 3, padding="same", activation="gelu", name="conv1")(
        features
    )
    # The reference pads one frame on each side; "same" with stride 2 would pad the end only.
    x = keras.layers.ZeroPadding1D(1, name="conv2_padding")(x)
    x = keras.layers.Conv1D(hidden_dim, 3, strides=CONV_STRIDE, activation="gelu", name="conv2")(x)
    x = FixedPositionEmbedding(max_source_positions, name="embed_positions")(x)
    x = keras.layers.Dropout(dropout, name="embed_dropout")(x)
    for i in range(num_layers):
        x = TransformerEncoderBlock(
            num_heads=num_heads,
            intermediate_dim=intermediate_dim,
            dropout=dropout,
            activation=activation,
            layer_norm_epsilon=LAYER_NORM_EPSILON,
            name=f"layer_{i}",
        )(x)
    x = keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name="layer_norm")(x)
    return keras.Model(features, x, name=name)


def encoder_layers(network):
    """The Transformer blocks of a `whisper_encoder`, bottom to top."""
    return [layer for layer in network.layers if isinstance(layer, TransformerEncoderBlock)]


# --- Hugging Face checkpoints --------------------------------------------------------------


def _hf_activation(source):
    act = source.config.get("activation_function", "gelu")
    if act not in ACTIVATIONS:
        raise ValueError(
            f"pretrained source {source.source!r}: activation_function={act!r} is not "
            f"supported for Whisper; supported: {sorted(ACTIVATIONS)}."
        )
    return ACTIVATIONS[act]


def _encoder_from_transformers(source):
    config = source.config
    network = whisper_encoder(
        num_mel_bins=int(config.get("num_mel_bins", 80)),
        max_source_positions=int(config.get("max_source_positions", 1500)),
        hidden_dim=int(config["d_model"]),
        num_layers=int(config["encoder_layers"]),
        num_heads=int(config["encoder_attention_heads"]),
        intermediate_dim=int(config["encoder_ffn_dim"]),
        activation=_hf_activation(source),
        dropout=float(config.get("dropout", 0.0)),
    )
    with _CheckpointTensors(source) as tensors:
        _assign_hf_weights(network, tensors)
    return network


class _CheckpointTensors(SafetensorsCheckpoint):
    """The encoder's tensors of a Hugging Face checkpoint, as numpy arrays, by name below the
    encoder (`"conv1.weight"`, `"layers.0.fc1.bias"`): one `model.safetensors`, or the shards
    that `model.safetensors.index.json` lists. The encoder's prefix (`"encoder."` for
    `WhisperModel`, `"model.encoder."` for `WhisperForConditionalGeneration`) is found from
    the checkpoint's names."""

    def found(self, names):
        anchors = [key for key in names if key.endswith("encoder.conv1.weight")]
        if not anchors:
            raise ValueError(
                f"pretrained source {self.source.source!r}: no Whisper encoder in the "
                "checkpoint (no tensor named '...encoder.conv1.weight')."
            )
        self.prefix = min(anchors, key=len)[: -len("conv1.weight")]

    def __getitem__(self, name):
        return super().__getitem__(name).astype("float32")


def _assign(variable, value, name):
    if tuple(variable.shape) != tuple(value.shape):
        raise ValueError(
            f"Whisper checkpoint: {name} has shape {tuple(value.shape)}, the encoder built "
            f"from config.json expects {tuple(variable.shape)}."
        )
    variable.assign(value)


def _assign_hf_weights(network, tensors):
    """Copies a Hugging Face Whisper encoder's tensors (torch layouts) into `whisper_encoder`."""
    for conv in ("conv1", "conv2"):
        layer = network.get_layer(conv)
        # torch Conv1d: (out, in, kernel); Keras Conv1D: (kernel, in, out).
        _assign(layer.kernel, tensors[f"{conv}.weight"].transpose(2, 1, 0), f"{conv}.weight")
        _assign(layer.bias, tensors[f"{conv}.bias"], f"{conv}.bias")
    table = network.get_layer("embed_positions").table
    _assign(table, tensors["embed_positions.weight"], "embed_positions.weight")
    for i, block in enumerate(encoder_layers(network)):
        prefix = f"layers.{i}."
        attention = block.attention
        heads, head_dim = attention.num_heads, attention.key_dim
        for projection, dense in (
            ("q_proj", attention.query_dense),
            ("k_proj", attention.key_dense),
            ("v_proj", attention.value_dense),
        ):
            name = f"{prefix}self_attn.{projection}"
            weight = tensors[f"{name}.weight"]  # (out, in)
            _assign(dense.kernel, weight.T.reshape(-1, heads, head_dim), f"{name}.weight")
            if f"{name}.bias" in tensors:
                bias = tensors[f"{name}.bias"].reshape(heads, head_dim)
            else:  # the reference's key projection has no bias
                bias = keras.ops.convert_to_numpy(keras.ops.zeros_like(dense.bias))
            _assign(dense.bias, bias, f"{name}.bias")
        name = f"{prefix}self_attn.out_proj"
        weight = tensors[f"{name}.weight"].T.reshape(heads, head_dim, -1)
        _assign(attention.output_dense.kernel, weight, f"{name}.weight")
        _assign(attention.output_dense.bias, tensors[f"{name}.bias"], f"{name}.bias")
        for hf_name, norm in (
            ("self_attn_layer_norm", block.attention_norm),
            ("final_layer_norm", block.ffn_norm),
        ):
            _assign(norm.gamma, tensors[f"{prefix}{hf_name}.weight"], f"{prefix}{hf_name}.weight")
            _assign(norm.beta, tensors[f"{prefix}{hf_name}.bias"], f"{prefix}{hf_name}.bias")
        for hf_name, dense in (("fc1", block.ffn_inner), ("fc2", block.ffn_outer)):
            _assign(
                dense.kernel, tensors[f"{prefix}{hf_name}.weight"].T, f"{prefix}{hf_name}.weight"
            )
            _assign(dense.bias, tensors[f"{prefix}{hf_name}.bias"], f"{prefix}{hf_name}.bias")
    norm = network.get_layer("layer_norm")
    _assign(norm.gamma, tensors["layer_norm.weight"], "layer_norm.weight")
    _assign(norm.beta, tensors["layer_norm.bias"], "layer_norm.bias")


# --- keras-hub presets ---------------------------------------------------------------------


def _encoder_from_keras_hub(source):
    import keras_hub

    backbone = keras_hub.models.Backbone.from_preset(source.location)
    if type(backbone).__name__ != "WhisperBackbone":
        raise ValueError(
            f"pretrained source {source.source!r}: expected a WhisperBackbone preset; it holds "
            f"a {type(backbone).__name__}."
        )
    network = whisper_encoder(
        num_mel_bins=backbone.num_mels,
        max_source_positions=backbone.max_encoder_sequence_length // CONV_STRIDE,
        hidden_dim=backbone.hidden_dim,
        num_layers=backbone.num_layers,
        num_heads=backbone.num_heads,
        intermediate_dim=backbone.intermediate_dim,
        activation="gelu",  # keras-hub's Whisper layers use exact GELU
        dropout=backbone.dropout,
    )
    _copy_keras_hub_weights(network, backbone)
    return network


def _copy_keras_hub_weights(network, backbone):
    """Copies the encoder's weights of a keras-hub `WhisperBackbone` into `whisper_encoder`,
    by the backbone's variable paths (its layers' names); both hold Keras layouts."""
    weights = {variable.path: variable for variable in backbone.weights}

    def take(path, variable):
        if path not in weights:
            raise ValueError(f"keras-hub WhisperBackbone: no weight {path!r} to read.")
        _assign(variable, keras.ops.convert_to_numpy(weights[path]), path)

    for conv, hub in (("conv1", "conv_layer_1"), ("conv2", "conv_layer_2")):
        layer = network.get_layer(conv)
        take(f"encoder_token_embedding_{hub}/kernel", layer.kernel)
        take(f"encoder_token_embedding_{hub}/bias", layer.bias)
    take("encoder_position_embedding/embeddings", network.get_layer("embed_positions").table)
    for i, block in enumerate(encoder_layers(network)):
        hub = f"transformer_encoder_layer_{i}/"
        attention = block.attention
        for part, dense in (
            ("query", attention.query_dense),
            ("key", attention.key_dense),
            ("value", attention.value_dense),
            ("attention_output", attention.output_dense),
        ):
            take(f"{hub}self_attention_layer/{part}/kernel", dense.kernel)
            bias_path = f"{hub}self_attention_layer/{part}/bias"
            if bias_path in weights:
                take(bias_path, dense.bias)
            else:  # keras-hub's key projection has no bias
                dense.bias.assign(keras.ops.zeros_like(dense.bias))
        for part, norm in (
            ("self_attention_layer_norm", block.attention_norm),
            ("feedforward_layer_norm", block.ffn_norm),
        ):
            take(f"{hub}{part}/gamma", norm.gamma)
            take(f"{hub}{part}/beta", norm.beta)
        for part, dense in (
            ("feedforward_intermediate_dense", block.ffn_inner),
            ("feedforward_output_dense", block.ffn_outer),
        ):
            take(f"{hub}{part}/kernel", dense.kernel)
            take(f"{hub}{part}/bias", dense.bias)
    norm = network.get_layer("layer_norm")
    take("encoder_layer_norm/gamma", norm.gamma)
    take("encoder_layer_norm/beta", norm.beta)


def _keras_hub_features(source):
    """The feature settings of a keras-hub preset: its `WhisperAudioConverter`'s."""
    import keras_hub

    try:
        converter = keras_hub.layers.AudioConverter.from_preset(source.location)
    except FileNotFoundError:  # a preset saved without its audio converter
        backbone = (source.config or {}).get("config", {})
        frames = backbone.get("max_encoder_sequence_length", 3000)
        return {
            "sampling_rate": DEFAULT_FEATURES["sampling_rate"],
            "feature_size": backbone.get("num_mels", 80),
            "n_fft": DEFAULT_FEATURES["n_fft"],
            "hop_length": DEFAULT_FEATURES["hop_length"],
            "n_samples": frames * DEFAULT_FEATURES["hop_length"],
        }
    return {
        "sampling_rate": int(converter.sampling_rate),
        "feature_size": int(converter.num_mels),
        "n_fft": int(converter.num_fft_bins),
        "hop_length": int(converter.stride),
        "n_samples": int(converter.num_samples),
    }


# --- The family ----------------------------------------------------------------------------


@register_family
class WhisperFamily(Family):
    """Whisper's audio encoder, from a mono waveform at the checkpoint's sampling rate.

    Inside the branch, `WhisperLogMel` pads (zeros at the end) or cuts each waveform to the
    feature extractor's `n_samples` (chunk length x sampling rate, 30 s for released
    checkpoints) and computes Whisper's log-mel features; the encoder gives
    `max_source_positions` states (1500 for released checkpoints), one per 320 samples
    (20 ms). The reference encoder attends to every position, padding included, and so does
    this one: the branch's `sequence` equals Hugging Face's `last_hidden_state` for the padded
    waveform. `sequence_mask` (`WaveformPaddingMask`) is True at positions over real audio:
    up to the waveform's last non-zero sample, the end of a clip that `mk.data.AudioSpec` or
    the model padded with zeros. It is for mmkeras's pooling and fusion only (the encoder does
    not read it): `pooling="mean"` (the default) averages the states over real audio, so a
    2 s clip is not diluted by 28 s of padding. Whisper has no class token and no pooler.

    The branch's input is `(batch, samples)` of any length by default (padded or cut inside);
    `input_shape=(samples,)` fixes it. Feed it with
    `mk.data.AudioSpec(**family.spec_arguments(source))`: the checkpoint's sampling rate and
    chunk length. The extractor's optional `dither` (noise added in training) is not applied.
    """

    name = "whisper"
    modality = "audio"
    model_types = ("whisper",)
    backbone_classes = ("WhisperBackbone",)
    default_pooling = "mean"

    def load(self, source):
        if source.format == "transformers":
            return _encoder_from_transformers(source)
        return _encoder_from_keras_hub(source)

    def features(self, source):
        """The feature extractor's settings: `sampling_rate`, `feature_size` (mel bins),
        `n_fft`, `hop_length` and `n_samples` (what every waveform is padded or cut to)."""
        if source.format != "transformers":
            return _keras_hub_features(source)
        config = hf_preprocessor_config(source)
        settings = {key: config.get(key, value) for key, value in DEFAULT_FEATURES.items()}
        settings["feature_size"] = config.get("feature_size", source.config.get("num_mel_bins", 80))
        settings["n_samples"] = config.get(
            "n_samples", settings["chunk_length"] * settings["sampling_rate"]
        )
        settings.pop("chunk_length")
        return {key: int(value) for key, value in settings.items()}

    def _check_features(self, network, source, features):
        frames, num_mel_bins = network.input_shape[1:]
        if features["feature_size"] != num_mel_bins:
            raise ValueError(
                f"pretrained source {source.source!r}: the feature extractor makes "
                f"{features['feature_size']} mel bins, the encoder reads {num_mel_bins}."
            )
        if features["n_samples"] // features["hop_length"] != frames:
            raise ValueError(
                f"pretrained source {source.source!r}: the feature extractor makes "
                f"{features['n_samples']} // {features['hop_length']} = "
                f"{features['n_samples'] // features['hop_length']} frames, the encoder reads "
                f"exactly {frames} (2 x max_source_positions)."
            )

    def raw_input(
        self, network, source, input_shape=None, max_length=None, duration=None, **options
    ):
        if max_length is not None:
            raise ValueError(
                f"pretrained: max_length={max_length!r} is for text; a {self.name} branch "
                "takes waveforms (set their length with input_shape=(samples,))."
            )
        samples = None
        if duration is not None:
            samples = int(round(duration * self.features(source)["sampling_rate"]))
        return waveform_input(self.name, samples, input_shape)

    def encode(self, network, raw, source, training=None):
        features = self.features(source)
        self._check_features(network, source, features)
        log_mel = WhisperLogMel(
            sample_rate=features["sampling_rate"],
            num_mel_bins=features["feature_size"],
            n_fft=features["n_fft"],
            hop_length=features["hop_length"],
            num_samples=features["n_samples"],
            name="log_mel",
        )(raw)
        sequence = network(log_mel, training=training)
        frames = network.input_shape[1]
        mask = WaveformPaddingMask(
            samples_per_step=features["hop_length"] * CONV_STRIDE,
            num_steps=frames // CONV_STRIDE,
            name="sequence_mask",
        )(raw)
        return Encoded(sequence, mask, {})

    def blocks(self, network):
        layers = [[block] for block in encoder_layers(network)]
        layers[0][:0] = [network.get_layer(name) for name in ("conv1", "conv2", "embed_positions")]
        layers[-1].append(network.get_layer("layer_norm"))
        return layers

    def enable_lora(self, network, rank):
        """LoRA adapters on the query and value projections of every attention layer; every
        other weight (their kernels and biases included) is frozen."""
        for block in encoder_layers(network):
            for dense in (block.attention.query_dense, block.attention.value_dense):
                dense.enable_lora(rank)
        network.trainable = True  # every layer, then each variable's own flag decides
        for variable in network.weights:
            variable.trainable = variable.name.startswith("lora_kernel")

    def spec_arguments(self, source):
        features = self.features(source)
        return {
            "sample_rate": features["sampling_rate"],
            "duration": features["n_samples"] / features["sampling_rate"],
        }
