"""`DualEncoder.from_pretrained`: a dual encoder from the two towers, projections and logit
parameters of a CLIP or SigLIP checkpoint."""

import math

from mmkeras.branches.pretrained_branch import pretrained
from mmkeras.models.dual_encoder import IMAGE, TEXT, branch_feature
from mmkeras.pretrained.families.image_text_weights import logit_parameters
from mmkeras.pretrained.family import family_for
from mmkeras.pretrained.sources import resolve_source


def dual_encoder_from_pretrained(
    cls, source, trainable, lora_rank, max_length, loss, recall_ks, name
):
    """A `cls` (a `DualEncoder`) from the checkpoint `source`, with the checkpoint's logit scale
    and bias; the arguments are `DualEncoder.from_pretrained`'s."""
    src = resolve_source(source)
    families = {}
    for modality in (IMAGE, TEXT):
        try:
            families[modality] = family_for(src, modality)
        except ValueError as error:
            raise ValueError(
                f"DualEncoder.from_pretrained: {error} A dual encoder needs a checkpoint "
                "with an image and a text tower (CLIP, SigLIP)."
            ) from None
        if getattr(families[modality], "embedding_pooling", None) is None:
            raise ValueError(
                f"DualEncoder.from_pretrained: pretrained source {src.source!r} "
                f"({families[modality].name}) is not an image-text checkpoint (CLIP, "
                "SigLIP)."
            )
    towers = {
        modality: pretrained(
            src.location,
            pooling=family.embedding_pooling,
            trainable=trainable,
            lora_rank=lora_rank,
            max_length=max_length if modality == TEXT else None,
            modality=modality,
            name=f"{family.name}_tower",
        )
        for modality, family in families.items()
    }
    logit_scale, logit_bias = logit_parameters(src)
    if loss is None:
        loss = "softmax" if logit_bias is None else "sigmoid"
    embed_dim = int(branch_feature(towers[IMAGE].output).shape[-1])
    model = cls(
        towers[IMAGE],
        towers[TEXT],
        embed_dim=embed_dim,
        recall_ks=recall_ks,
        projection=None,
        loss=loss,
        # The checkpoint's scale must not be clipped (SigLIP's exceeds CLIP's cap of 100).
        max_logit_scale=max(100.0, float(math.ceil(math.exp(logit_scale) + 1.0))),
        pretrained_source=src.source,
        name=name or f"dual_encoder_{families[TEXT].name.split('_')[0]}",
    )
    model.contrastive_logits.logit_scale.assign(logit_scale)
    if model.contrastive_logits.logit_bias is not None:
        model.contrastive_logits.logit_bias.assign(logit_bias or 0.0)
    return model
