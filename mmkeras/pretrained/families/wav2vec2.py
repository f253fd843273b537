"""wav2vec2 and HuBERT speech encoders (Hugging Face checkpoints), built from mmkeras layers.

keras-hub has neither, so the network is a functional `keras.Model` of the layers in
`mmkeras.layers.speech`, and the checkpoint's `model.safetensors` is read into it one weight at
a time (`wav2vec2_weights`).

How a branch learns each clip's length: the branch takes one raw tensor, the waveform
`(batch, samples)`, and pipelines pad clips with zeros at the end (as the Hugging Face feature
extractor does), so a clip's real samples are those up to its last nonzero sample
(`WaveformLength`). From that length the branch normalises the clip over its real samples,
computes the group norm statistics of the first convolution over the real frames, zeroes the
padded frames before the positional convolution, masks them in attention, and returns them as
False in `sequence_mask` (so `pooling="mean"` averages real frames only). The states of a
clip's real frames are therefore the reference's states for the clip alone, however much
padding the pipeline added.

For checkpoints whose feature extractor returns an attention mask (`feat_extract_norm="layer"`,
wav2vec2-large-lv60, HuBERT-large) this is also what the reference computes for a padded batch.
For `feat_extract_norm="group"` checkpoints (wav2vec2-base, HuBERT-base) the reference's
extractor returns no mask: in a padded batch it normalises each waveform over the padding too,
its group norm averages over the padded frames, and attention attends to them, so the
reference's states for a padded clip depend on how much padding follows it. mmkeras keeps the
states of the clip alone (the reference run on the unpadded clip) instead, so that a branch's
features do not change with the length a pipeline pads to. Measured on the tiny reference
checkpoint of tests/data/pretrained/wav2vec2 (states up to 3.1 in size): the clip alone and the
unpadded row match the reference within 1.1e-6; the reference's own row for the 0.37 s clip
padded to 1 s differs from it by up to 0.22 (the network, given that row's padded input and
no mask, matches it within 1.2e-6). A recording that ends in samples that are exactly zero
has them counted as padding (digital silence; the normalisation statistics then leave them
out); a clip with no nonzero sample at all is real over its whole length; a training
augmentation that adds noise over the padding makes the padding part of the clip.

Training differs from the reference in two ways that do not change inference: the weight-
normalised positional convolution is folded into a plain kernel (the same function, trained
without the magnitude/direction split), and SpecAugment's masking of frames during training
(`mask_time_prob`, `mask_feature_prob`) is not applied. Dropout rates and LayerDrop are the
checkpoint's.
"""

import keras

from mmkeras.layers.bert._ops import ACTIVATIONS
from mmkeras.layers.speech import (
    ConvFeatureEncoder,
    ConvPositionalEmbedding,
    FeatureProjection,
    FrameMask,
    SpeechEncoderLayer,
    WaveformLength,
    WaveformNormalization,
)
from mmkeras.layers.speech._ops import stack_output_length
from mmkeras.pretrained.families.keras_hub_family import NETWORK_NAME, hf_preprocessor_config
from mmkeras.pretrained.families.wav2vec2_weights import (
    ENCODER_LAYER_NORM,
    FEATURE_ENCODER,
    FEATURE_PROJECTION,
    POSITIONAL_EMBEDDING,
    CheckpointReader,
    assign_weights,
    transformer_layer_name,
)
from mmkeras.pretrained.families.waveform_input import waveform_input
from mmkeras.pretrained.family import Encoded, Family, register_family

# The reference feature extractor's variance epsilon (`zero_mean_unit_var_norm`).
NORMALIZATION_EPSILON = 1e-7
DEFAULT_SAMPLE_RATE = 16000

# Each layer's constructor arguments, by the key of the checkpoint's config they come from.
_CONFIG_KEYS = {
    ConvFeatureEncoder: {
        "conv_dim": "conv_dim",
        "conv_kernel": "conv_kernel",
        "conv_stride": "conv_stride",
        "conv_bias": "conv_bias",
        "norm": "feat_extract_norm",
        "activation": "feat_extract_activation",
    },
    FeatureProjection: {
        "units": "hidden_size",
        "layer_norm": "feat_proj_layer_norm",
        "layer_norm_epsilon": "layer_norm_eps",
        "dropout": "feat_proj_dropout",
    },
    ConvPositionalEmbedding: {
        "kernel_size": "num_conv_pos_embeddings",
        "groups": "num_conv_pos_embedding_groups",
        "activation": "feat_extract_activation",
        "batch_norm": "conv_pos_batch_norm",
    },
    SpeechEncoderLayer: {
        "num_heads": "num_attention_heads",
        "intermediate_size": "intermediate_size",
        "activation": "hidden_act",
        "layer_norm_epsilon": "layer_norm_eps",
        "pre_norm": "do_stable_layer_norm",
        "dropout": "hidden_dropout",
        "attention_dropout": "attention_dropout",
        "activation_dropout": "activation_dropout",
        "layerdrop": "layerdrop",
    },
}


def _layer_from_settings(layer_class, settings, name):
    """A layer of `_CONFIG_KEYS` built with the arguments the checkpoint's settings give it."""
    arguments = {argument: settings[key] for argument, key in _CONFIG_KEYS[layer_class].items()}
    return layer_class(**arguments, name=name)


class SpeechEncoderFamily(Family):
    """What the wav2vec2 and HuBERT families share: the architecture and the weight names.

    Subclasses set `weight_prefix` (the base model's prefix in task checkpoints, e.g.
    `"wav2vec2"` in a `Wav2Vec2ForCTC` checkpoint) and may read more of the config in
    `settings`.
    """

    modality = "audio"
    default_pooling = "mean"
    weight_prefix = None

    # === Config ===

    def settings(self, source):
        """The checked architecture of a checkpoint, from its `config.json`."""
        config = source.config

        def get(key, default):
            value = config.get(key, default)
            return default if value is None else value

        def fail(message):
            raise ValueError(f"pretrained source {source.source!r} ({self.name}): {message}")

        if config.get("add_adapter"):
            fail(
                "add_adapter=True (a convolutional adapter after the encoder) is not supported; "
                "mmkeras reads wav2vec2 / HuBERT encoders without adapters."
            )
        if config.get("adapter_attn_dim") is not None:
            fail(
                f"adapter_attn_dim={config['adapter_attn_dim']} (MMS language adapters) is not "
                "supported; mmkeras reads wav2vec2 / HuBERT encoders without adapters."
            )
        conv_dim = tuple(get("conv_dim", (512,) * 7))
        conv_kernel = tuple(get("conv_kernel", (10, 3, 3, 3, 3, 2, 2)))
        conv_stride = tuple(get("conv_stride", (5, 2, 2, 2, 2, 2, 2)))
        if not len(conv_dim) == len(conv_kernel) == len(conv_stride):
            fail(
                "conv_dim, conv_kernel and conv_stride must have one entry per convolution; "
                f"found {len(conv_dim)}, {len(conv_kernel)} and {len(conv_stride)}."
            )
        for key in ("hidden_act", "feat_extract_activation"):
            if get(key, "gelu") not in ACTIVATIONS:
                fail(f"{key}={config.get(key)!r} is not supported; allowed: {list(ACTIVATIONS)}.")
        norm = get("feat_extract_norm", "group")
        if norm not in ("group", "layer"):
            fail(f"feat_extract_norm={norm!r} is not supported; allowed: ['group', 'layer'].")
        return {
            "conv_dim": conv_dim,
            "conv_kernel": conv_kernel,
            "conv_stride": conv_stride,
            "conv_bias": bool(get("conv_bias", False)),
            "feat_extract_norm": norm,
            "feat_extract_activation": get("feat_extract_activation", "gelu"),
            "feat_proj_layer_norm": True,
            "feat_proj_dropout": float(get("feat_proj_dropout", 0.0)),
            "hidden_size": int(get("hidden_size", 768)),
            "num_hidden_layers": int(get("num_hidden_layers", 12)),
            "num_attention_heads": int(get("num_attention_heads", 12)),
            "intermediate_size": int(get("intermediate_size", 3072)),
            "hidden_act": get("hidden_act", "gelu"),
            "layer_norm_eps": float(get("layer_norm_eps", 1e-5)),
            "num_conv_pos_embeddings": int(get("num_conv_pos_embeddings", 128)),
            "num_conv_pos_embedding_groups": int(get("num_conv_pos_embedding_groups", 16)),
            "conv_pos_batch_norm": False,
            "do_stable_layer_norm": bool(get("do_stable_layer_norm", False)),
            "hidden_dropout": float(get("hidden_dropout", 0.1)),
            "attention_dropout": float(get("attention_dropout", 0.1)),
            "activation_dropout": float(get("activation_dropout", 0.1)),
            "layerdrop": float(get("layerdrop", 0.1)),
        }

    def _preprocessing(self, source):
        config = hf_preprocessor_config(source)
        if config.get("feature_size", 1) != 1:
            raise ValueError(
                f"pretrained source {source.source!r}: preprocessor_config.json has "
                f"feature_size={config['feature_size']}; {self.name} encoders take a mono "
                "waveform (feature_size=1)."
            )
        rate = int(config.get("sampling_rate", DEFAULT_SAMPLE_RATE))
        return {"do_normalize": bool(config.get("do_normalize", True)), "sample_rate": rate}

    # === Network ===

    def encoder_network(self, settings):
        """The encoder as a functional model `{"waveform", "lengths"} -> last hidden states`."""
        waveform = keras.Input(shape=(None,), dtype="float32", name="waveform")
        lengths = keras.Input(shape=(), dtype="int32", name="lengths")
        frames = _layer_from_settings(ConvFeatureEncoder, settings, FEATURE_ENCODER)(
            waveform, lengths=lengths
        )
        mask = FrameMask(settings["conv_kernel"], settings["conv_stride"], name="frame_mask")(
            frames, lengths=lengths
        )
        x = _layer_from_settings(FeatureProjection, settings, FEATURE_PROJECTION)(frames)
        x = _layer_from_settings(ConvPositionalEmbedding, settings, POSITIONAL_EMBEDDING)(
            x, mask=mask
        )
        stable = settings["do_stable_layer_norm"]
        encoder_norm = keras.layers.LayerNormalization(
            epsilon=settings["layer_norm_eps"], name=ENCODER_LAYER_NORM
        )
        if not stable:
            x = encoder_norm(x)
        x = keras.layers.Dropout(settings["hidden_dropout"], name="encoder_dropout")(x)
        for index in range(settings["num_hidden_layers"]):
            layer_name = transformer_layer_name(index)
            x = _layer_from_settings(SpeechEncoderLayer, settings, layer_name)(x, mask=mask)
        if stable:
            x = encoder_norm(x)
        return keras.Model({"waveform": waveform, "lengths": lengths}, x, name=NETWORK_NAME)

    def load(self, source):
        if source.format != "transformers":
            raise ValueError(
                f"pretrained source {source.source!r}: {self.name} encoders are read from "
                "Hugging Face checkpoints (a folder or 'hf://org/name'); keras-hub has no "
                f"{self.name} presets."
            )
        settings = self.settings(source)
        network = self.encoder_network(settings)
        with CheckpointReader(source, self.weight_prefix) as reader:
            assign_weights(network, settings, reader)
        return network

    # === Branch ===

    def raw_input(
        self,
        network,
        source,
        input_shape=None,
        max_length=None,
        sample_rate=None,
        duration=None,
        **options,
    ):
        if max_length is not None:
            raise ValueError(
                f"pretrained: max_length={max_length!r} is for text; a {self.name} branch "
                "takes waveforms (set their length with duration= or input_shape=(samples,))."
            )
        rate = self._preprocessing(source)["sample_rate"]
        if sample_rate is not None and sample_rate != rate:
            raise ValueError(
                f"pretrained: this {self.name} checkpoint takes waveforms at {rate} Hz; received "
                f"sample_rate={sample_rate!r}. Resample the audio to {rate} Hz (mk.data.AudioSpec"
                f"(sample_rate={rate}) does)."
            )
        settings = self.settings(source)
        minimum = _receptive_field(settings["conv_kernel"], settings["conv_stride"])
        samples = None
        if duration is not None:
            number = not isinstance(duration, bool) and isinstance(duration, (int, float))
            samples = int(round(duration * rate)) if number else 0
            if samples < minimum:
                raise ValueError(
                    f"pretrained: a {self.name} branch needs waveforms of at least {minimum} "
                    f"samples (one frame: {minimum / rate:g} s at {rate} Hz); received "
                    f"duration={duration!r}."
                )
        return waveform_input(self.name, samples, input_shape, minimum)

    def encode(self, network, raw, source, training=None):
        settings = self.settings(source)
        lengths = WaveformLength(name="waveform_length")(raw)
        waveform = raw
        if self._preprocessing(source)["do_normalize"]:
            waveform = WaveformNormalization(
                epsilon=NORMALIZATION_EPSILON, name="waveform_normalization"
            )(raw, lengths=lengths)
        sequence = network({"waveform": waveform, "lengths": lengths}, training=training)
        mask = FrameMask(settings["conv_kernel"], settings["conv_stride"], name="sequence_mask")(
            sequence, lengths=lengths
        )
        return Encoded(sequence, mask, {})

    def blocks(self, network):
        count = sum(1 for layer in network.layers if isinstance(layer, SpeechEncoderLayer))
        blocks = [[network.get_layer(transformer_layer_name(i))] for i in range(count)]
        bottom = [network.get_layer(name) for name in (FEATURE_ENCODER, FEATURE_PROJECTION)]
        bottom.append(network.get_layer(POSITIONAL_EMBEDDING))
        encoder_norm = network.get_layer(ENCODER_LAYER_NORM)
        if not blocks:  # no transformer layer: the whole encoder is one block
            return [[*bottom, encoder_norm]]
        if blocks[0][0].pre_norm:  # the final layer norm goes with the top layer
            blocks[-1].append(encoder_norm)
        else:
            bottom.append(encoder_norm)
        blocks[0][:0] = bottom
        return blocks

    def enable_lora(self, network, rank):
        """Adds LoRA adapters to the query and value projections of every transformer layer."""
        for layer in network.layers:
            if isinstance(layer, SpeechEncoderLayer):
                layer.enable_lora(rank)

    def spec_arguments(self, source):
        return {"sample_rate": self._preprocessing(source)["sample_rate"]}


@register_family
class Wav2Vec2Family(SpeechEncoderFamily):
    """wav2vec2: a convolutional feature encoder, a convolutional positional embedding and a
    transformer, post-norm (`do_stable_layer_norm=False`, base) or pre-norm (large-lv60)."""

    name = "wav2vec2"
    model_types = ("wav2vec2",)
    weight_prefix = "wav2vec2"


@register_family
class HubertFamily(SpeechEncoderFamily):
    """HuBERT: wav2vec2's architecture; its feature projection may have no layer norm
    (`feat_proj_layer_norm`) and its positional convolution may batch-normalise its input
    instead of being weight-normalised (`conv_pos_batch_norm`)."""

    name = "hubert"
    model_types = ("hubert",)
    weight_prefix = "hubert"

    def settings(self, source):
        settings = super().settings(source)
        config = source.config
        settings["feat_proj_layer_norm"] = bool(config.get("feat_proj_layer_norm", True))
        settings["conv_pos_batch_norm"] = bool(config.get("conv_pos_batch_norm", False))
        return settings


def _receptive_field(conv_kernel, conv_stride):
    """The fewest samples that give one frame."""
    samples = 1
    while stack_output_length(samples, conv_kernel, conv_stride) < 1:
        samples += 1
    return samples


__all__ = ["HubertFamily", "SpeechEncoderFamily", "Wav2Vec2Family"]
