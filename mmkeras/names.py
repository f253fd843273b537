"""The names mmkeras accepts for its kinds of parts, defined once.

Branch kinds, fusions, task kinds, caption decoders and distribution strategies are named here
and nowhere else: the config schema builds its allowed values from these, and the model,
task and training code look their parts up by them. Imports nothing (the config reads it
without importing Keras).
"""

# Branch builder of `mmkeras.branches` -> the modality of the input it reads (None: any, decided
# by the checkpoint and the input it is given, as for `pretrained`).
BRANCH_MODALITIES = {
    "image_cnn": "image",
    "image_backbone": "image",
    "text_rnn": "text",
    "text_transformer": "text",
    "text_bert": "text",
    "audio_cnn": "audio",
    "audio_rnn": "audio",
    "tabular_mlp": "tabular",
    "pretrained": None,
}
BRANCH_KINDS = tuple(BRANCH_MODALITIES)

# Modalities a branch reads besides its own: a feature-vector branch reads every input that is
# decoded to float features (a categorical input's one-hot vectors).
OTHER_BRANCH_INPUTS = {"tabular_mlp": ("categorical",)}


def branch_reads(kind, modality=None):
    """The modalities branch `kind` reads (a tuple; empty for any, as for `pretrained`), or with
    `modality`, whether it reads an input of that modality."""
    own = BRANCH_MODALITIES[kind]
    reads = () if own is None else (own, *OTHER_BRANCH_INPUTS.get(kind, ()))
    if modality is None:
        return reads
    return not reads or modality in reads


# Fusion name -> its layer class in `mmkeras.layers`.
FUSION_LAYERS = {
    "concat": "ConcatFusion",
    "sum": "SumFusion",
    "product": "ProductFusion",
    "mlp": "MLPFusion",
    "gated": "GatedFusion",
    "attention": "AttentionFusion",
    "cross_attention": "CrossModalAttention",
    "low_rank": "LowRankFusion",
    "tensor": "TensorFusion",
}
FUSIONS = tuple(FUSION_LAYERS)

# Task kinds: `kind` of a `mmkeras.tasks` head (and of its config and evaluation section).
CLASSIFICATION = "classification"
MULTILABEL = "multilabel"
REGRESSION = "regression"
HEAD_TASK_KINDS = (CLASSIFICATION, MULTILABEL, REGRESSION)
# Tasks that are whole models of their own (`DualEncoder`, `Captioner`), not heads on a fusion.
RETRIEVAL = "retrieval"
CAPTIONING = "captioning"
MODEL_TASK_KINDS = (RETRIEVAL, CAPTIONING)
TASK_KINDS = HEAD_TASK_KINDS + MODEL_TASK_KINDS

# Caption decoders of `mmkeras.models.Captioner`.
DECODERS = ("lstm", "transformer")

# Distribution strategies of `mmkeras.train`.
STRATEGIES = ("auto", "default", "mirrored", "multi_worker", "tpu")
