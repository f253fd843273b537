"""Branches over pretrained encoders: ViT, DINOv2, CLIP/SigLIP towers, RoBERTa, Whisper, ..."""

import keras

from mmkeras.argument_checks import check_positive_int, check_rate
from mmkeras.branches._common import branch_outputs, dense_head
from mmkeras.branches.freezing import LORA_ATTRIBUTE, record_blocks, set_trainable
from mmkeras.layers.modeling import MaskedMeanPooling
from mmkeras.pretrained.family import family_for
from mmkeras.pretrained.sources import resolve_source

POOLINGS = ("cls", "mean", "pooler", "projection")


def _check_trainable(trainable):
    ok = isinstance(trainable, bool) or (isinstance(trainable, int) and trainable >= 0)
    if not ok:
        raise ValueError(
            "pretrained: `trainable` must be False (frozen), True (every block trains) or an "
            f"int k >= 0 (the top k blocks train); received trainable={trainable!r}."
        )


def _pool(encoded, pooling, family):
    if pooling == "mean":
        return MaskedMeanPooling(name="mean_pooling")(encoded.sequence, mask=encoded.sequence_mask)
    if pooling not in encoded.pooled:
        available = ["mean", *encoded.pooled]
        raise ValueError(
            f"pretrained: pooling={pooling!r} is not available for a {family.name} checkpoint; "
            f"allowed: {available}."
        )
    return encoded.pooled[pooling]


def pretrained(
    source,
    pooling=None,
    trainable=False,
    lora_rank=None,
    output_dim=None,
    dropout=0.0,
    activation="relu",
    return_sequence=False,
    input_shape=None,
    max_length=None,
    sample_rate=None,
    duration=None,
    modality=None,
    name=None,
):
    """Builds a branch over a pretrained encoder, its preprocessing inside the model.

    The checkpoint comes from a keras-hub preset name (`"dinov2_small"`), a Hugging Face id
    (`"hf://google/vit-base-patch16-224"`, converted on load), a Kaggle handle
    (`"kaggle://..."`) or a local folder holding either. Remote checkpoints download once into
    the libraries' own caches (Hugging Face's, kagglehub's); offline, a cached checkpoint loads
    and a missing one fails at once with the ways to supply it. Families: image ViT (plus
    DeiT, DINOv2, CLIP and SigLIP vision towers), text RoBERTa and XLM-RoBERTa (plus CLIP and
    SigLIP text towers), audio Whisper, wav2vec2 and HuBERT encoders, as far as
    `mmkeras.pretrained.registered_families()` lists them.

    The branch takes one raw tensor, as every branch does (`docs/conventions.md`): RGB pixels
    on the 0..255 scale at the checkpoint's image size (normalised inside the model), token ids
    padded with the checkpoint's own pad id (`mk.data.TextSpec.from_pretrained` makes them), or
    a mono waveform at the checkpoint's sample rate.

    Args:
        source: the checkpoint (see above).
        pooling: `"cls"` (the class token's state), `"mean"` (mean over real positions),
            `"pooler"` (the checkpoint's own pooling head, where it has one) or `"projection"`
            (the pooled feature through the checkpoint's projection into the space a
            contrastive model compares, where it has one: CLIP's towers); default: the
            family's usual one.
        trainable: False (frozen, called in inference mode), True (every block trains) or an
            int k (the top k blocks train; see `mk.branches.set_trainable`).
        lora_rank: int or None. Adds LoRA adapters of this rank to the attention projections
            and trains only them (with the top `trainable` blocks when `trainable` is an int).
        output_dim: int or None. None returns the pooled feature at the encoder's width; an
            int adds a Dense projection to that size.
        dropout: float in [0, 1), dropout before the projection.
        activation: activation of the projection.
        return_sequence: bool, also return the last hidden states and their mask.
        input_shape: images only: `(height, width, 3)`; default the checkpoint's size.
        max_length: text only: the length of the token id sequences; default variable.
        sample_rate: audio only: the waveform's sample rate in Hz; it must be the
            checkpoint's (checked when given).
        duration: audio only: the waveform's length in seconds; default the family's.
        modality: `"image"`, `"text"` or `"audio"`: which tower of a checkpoint that holds
            several (CLIP, SigLIP); not needed otherwise.
        name: name of the returned model; default `"pretrained_<family>"`.

    Returns:
        A functional `keras.Model` with one input, returning the feature
        `(batch, output_dim or width)` or, with `return_sequence=True`, the dict `{"feature",
        "sequence", "sequence_mask"}`. Its blocks are the encoder's transformer layers.

    Example:
    >>> branch = pretrained("vit", output_dim=8)  # a local Hugging Face ViT checkpoint folder
    >>> branch.input.shape, branch.output.shape  # 0..255 pixels at the checkpoint's size
    ((None, 32, 32, 3), (None, 8))
    >>> text = pretrained("roberta", pooling="mean", trainable=1, return_sequence=True)
    >>> sorted(text.output)
    ['feature', 'sequence', 'sequence_mask']
    """
    src = resolve_source(source)
    family = family_for(src, modality)
    _check_trainable(trainable)
    if lora_rank is not None:
        check_positive_int("lora_rank", lora_rank, "pretrained")
    if output_dim is not None:
        check_positive_int("output_dim", output_dim, "pretrained")
    check_rate("dropout", dropout, "pretrained")
    pooling = family.default_pooling if pooling is None else pooling
    if pooling not in POOLINGS:
        raise ValueError(f"pretrained: `pooling` must be one of {POOLINGS}; received {pooling!r}.")
    options = {
        "input_shape": input_shape,
        "max_length": max_length,
        "sample_rate": sample_rate,
        "duration": duration,
    }

    network = family.build_network(src, **options)
    raw = family.raw_input(network, src, **options)
    # A frozen encoder runs in inference mode (no dropout noise on fixed features).
    encoded = family.encode(network, raw, src, training=False if trainable is False else None)
    feature = _pool(encoded, pooling, family)
    if output_dim is not None:
        feature = dense_head(feature, output_dim, activation, dropout)
    outputs = branch_outputs(feature, encoded.sequence, encoded.sequence_mask, return_sequence)
    model = keras.Model(raw, outputs, name=name or f"pretrained_{family.name}")
    blocks = family.blocks(network)
    num_encoder_blocks = len(blocks)
    head = 1 if output_dim is not None else 0
    # Layers the family adds around the network with checkpoint weights (a pooling head)
    # freeze, train and take LoRA's freezing with the network's top block.
    around = [
        layer
        for layer in model.layers
        if layer.weights and layer is not network and layer.name != "feature"
    ]
    blocks[-1].extend(around)
    if head:
        blocks.append([model.get_layer("feature")])
    record_blocks(model, blocks)
    model.pretrained_blocks = num_encoder_blocks
    model.pretrained_family = family.name
    model.pretrained_source = src.source
    if lora_rank is not None:
        family.enable_lora(network, lora_rank)
        for layer in (network, *around):
            setattr(layer, LORA_ATTRIBUTE, True)
        trainable = True if trainable is False else trainable
    # `trainable` counts the encoder's blocks; the projection on top trains in every case.
    if isinstance(trainable, bool):
        encoder_blocks = num_encoder_blocks if trainable else 0
    else:
        encoder_blocks = min(trainable, num_encoder_blocks)
    set_trainable(model, encoder_blocks)
    if head and not encoder_blocks:
        model.get_layer("feature").trainable = True
    return model


__all__ = ["pretrained"]
