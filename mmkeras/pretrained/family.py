"""`Family`: what mmkeras knows about one family of pretrained encoders, and the registry.

A family (ViT, RoBERTa, Whisper, ...) says how to load its network from a `PretrainedSource`,
which raw tensor its branch takes (0..255 RGB pixels, token ids, a waveform), how that raw tensor
becomes the network's inputs inside the model, which outputs it gives (the last hidden states,
their mask, and the checkpoint's own pooled feature where it has one), its blocks bottom to top
(for `trainable=k`), which layers take LoRA adapters, and what a `Spec` needs to feed it (image
size and normalisation, tokenizer, sample rate). `mk.branches.pretrained` composes these; adding a
family means one module under `mmkeras/pretrained/families/` with one `Family` subclass,
registered with `@register_family`.
"""

import dataclasses

_FAMILIES = {}


def register_family(cls):
    """Class decorator: makes a `Family` subclass known to `family_for`."""
    if not cls.name or cls.modality not in ("image", "text", "audio"):
        raise ValueError(
            f"{cls.__name__}: a family needs a `name` and a `modality` in ('image', 'text', "
            f"'audio'); found name={cls.name!r}, modality={cls.modality!r}."
        )
    _FAMILIES[cls.name] = cls
    return cls


def _load_builtin_families():
    import importlib

    importlib.import_module("mmkeras.pretrained.families")  # each module registers its family


def registered_families():
    """Every registered family, by name."""
    _load_builtin_families()
    return dict(_FAMILIES)


def family_for(source, modality=None):
    """The `Family` instance that reads a `PretrainedSource`.

    Args:
        source: a `PretrainedSource`.
        modality: None, or `"image"`, `"text"` or `"audio"`: which tower of a checkpoint that
            has several (CLIP, SigLIP); required for those.

    Raises:
        ValueError: naming the checkpoint's `model_type` (or keras-hub class) and the families
            mmkeras reads, or the towers to choose from.
    """
    _load_builtin_families()
    model_type, backbone_class = source.model_type, source.backbone_class
    matches = [
        cls
        for cls in _FAMILIES.values()
        if (model_type is not None and model_type in cls.model_types)
        or (backbone_class is not None and backbone_class in cls.backbone_classes)
    ]
    found = f"model_type {model_type!r}" if model_type else f"keras-hub class {backbone_class!r}"
    if not matches:
        known_types = sorted(t for cls in _FAMILIES.values() for t in cls.model_types)
        known_classes = sorted(c for cls in _FAMILIES.values() for c in cls.backbone_classes)
        raise ValueError(
            f"pretrained source {source.source!r}: mmkeras has no encoder family for {found}. "
            f"Hugging Face model types read: {known_types}; keras-hub backbones read: "
            f"{known_classes}. (BERT checkpoints: mk.branches.text_bert.)"
        )
    towers = sorted({cls.modality for cls in matches})
    if modality is not None:
        matches = [cls for cls in matches if cls.modality == modality]
        if not matches:
            raise ValueError(
                f"pretrained source {source.source!r} ({found}) has no {modality} encoder; it "
                f"has: {towers}."
            )
    if len(matches) > 1:
        raise ValueError(
            f"pretrained source {source.source!r} ({found}) holds several encoders: pass "
            f"modality= one of {towers}."
        )
    return matches[0]()


@dataclasses.dataclass
class Encoded:
    """What a family's network gives for one raw input (symbolic Keras tensors).

    Attributes:
        sequence: the last hidden states `(batch, steps, width)`.
        sequence_mask: bool `(batch, steps)`, True at real positions.
        pooled: the pooled features the checkpoint defines, by pooling name: `"cls"` (the
            first token's state, where the family has a class token) and `"pooler"` (the
            checkpoint's own pooling head, where it has one).
    """

    sequence: object
    sequence_mask: object
    pooled: dict


class Family:
    """One family of pretrained encoders. Subclasses set the class attributes and methods.

    Class attributes:
        name: the family's name, e.g. `"vit"`.
        modality: `"image"`, `"text"` or `"audio"`.
        model_types: the Hugging Face `model_type` values it reads.
        backbone_classes: the keras-hub backbone class names it reads.
        default_pooling: the pooling a branch uses when none is given.
    """

    name = None
    modality = None
    model_types = ()
    backbone_classes = ()
    default_pooling = "mean"

    def load(self, source):
        """Returns the network (a `keras.Model` or layer) with the checkpoint's weights."""
        raise NotImplementedError(f"{type(self).__name__}.load")

    def build_network(self, source, **options):
        """Returns the network a branch with these `options` runs (those of `raw_input`).

        The network of `load`, unless it depends on the options: DINOv2 builds its position
        table for the branch's image size.
        """
        return self.load(source)

    def raw_input(self, network, source, **options):
        """Returns the branch's `keras.Input` for the raw tensor (see `docs/conventions.md`).

        `options` are the branch's `input_shape` (images), `max_length` (text),
        `sample_rate` and `duration` (audio), each None unless the user gave it; a family
        refuses, with a clear error, a value its checkpoint cannot take.
        """
        raise NotImplementedError(f"{type(self).__name__}.raw_input")

    def encode(self, network, raw, source, training=None):
        """Runs the preprocessing layers and the network on `raw`; returns an `Encoded`.

        `training=False` calls the network in inference mode whatever the model's mode (a
        frozen encoder); None follows the model.
        """
        raise NotImplementedError(f"{type(self).__name__}.encode")

    def blocks(self, network):
        """The network's blocks, bottom to top: a list of lists of layers (for `trainable=k`)."""
        raise NotImplementedError(f"{type(self).__name__}.blocks")

    def enable_lora(self, network, rank):
        """Adds rank-`rank` LoRA adapters to the attention projections and freezes the rest."""
        if not hasattr(network, "enable_lora"):
            raise ValueError(
                f"pretrained: the {self.name} family does not take LoRA adapters (`lora_rank`)."
            )
        network.enable_lora(rank)

    def spec_arguments(self, source):
        """What a `Spec` needs to feed this family: a dict (keys depend on the modality).

        Image families: `size` (height, width) the checkpoint was trained at. Text families:
        `pad_id`, and `start_id` / `end_id` (None where the checkpoint adds no such token).
        Audio families: `sample_rate` (and `duration` where the encoder takes a fixed length).
        """
        return {}

    def tokenizer(self, source):
        """Text families: the checkpoint's own tokenizer, a Keras layer of TF ops mapping
        strings to ragged ids without special tokens (`TextSpec.from_pretrained` adds them)."""
        raise ValueError(
            f"pretrained: the {self.name} family has no tokenizer (it reads {self.modality})."
        )


__all__ = ["Encoded", "Family", "family_for", "register_family", "registered_families"]
