"""DeiT image encoders (Hugging Face `deit` checkpoints and keras-hub `DeiTBackbone` presets)."""

from mmkeras.pretrained.families.keras_hub_family import check_config_value
from mmkeras.pretrained.families.vit import ViTFamily
from mmkeras.pretrained.family import register_family

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@register_family
class DeiTFamily(ViTFamily):
    """Data-efficient Image Transformer: a ViT with a distillation token.

    The sequence is the final LayerNorm's output over the class token (position 0), the
    distillation token (position 1) and the patches, as Hugging Face's `last_hidden_state`.
    `pooling="cls"` takes the class token's state; `"mean"` averages all positions, both tokens
    included. The distilled classifiers of the released checkpoints read both tokens (the mean
    of one linear head on each); their `DeiTModel` has no pooling head, so `"pooler"` exists
    only for a checkpoint saved with one (`DeiTModel(add_pooling_layer=True)`). Images are
    normalised with the checkpoint's mean and standard deviation (ImageNet's by default), and
    the position embeddings fix the image size to the checkpoint's. keras-hub's converter
    builds with the checkpoint's layer-norm epsilon and exact GELU; measured against Hugging
    Face's `DeiTModel` on a tiny random checkpoint: last hidden state within 3e-6.
    """

    name = "deit"
    model_types = ("deit",)
    backbone_classes = ("DeiTBackbone",)
    embedding_layer = "deit_patching_and_embedding"
    encoder_layer = "deit_encoder"
    default_mean = IMAGENET_MEAN
    default_std = IMAGENET_STD

    def config_overrides(self, source):
        check_config_value(source, self.name, "hidden_act", "gelu", "gelu", " (exact GELU)")
        check_config_value(source, self.name, "qkv_bias", True, True)
        return {"layer_norm_epsilon": float(source.config.get("layer_norm_eps", 1e-12))}
