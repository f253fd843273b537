"""RoBERTa and XLM-RoBERTa text encoders (keras-hub backbones, Hugging Face checkpoints)."""

import keras

from mmkeras.layers.modeling import SequenceMask
from mmkeras.pretrained.families.keras_hub_family import (
    KerasHubFamily,
    check_config_value,
    checkpoint_tensor,
    class_token_pooled,
)
from mmkeras.pretrained.family import Encoded, register_family


class TextEncoderFamily(KerasHubFamily):
    """A keras-hub text backbone taking `{"token_ids", "padding_mask"}`.

    The branch takes token ids `(batch, steps)` padded with the checkpoint's pad id; the padding
    mask is `ids != pad_id`. Subclasses name the embedding layers and the transformer layers.
    """

    modality = "text"
    default_pooling = "cls"
    embedding_layers = ()
    default_pad_id = 0

    def pad_id(self, source):
        if source.config is not None and source.format == "transformers":
            return int(source.config.get("pad_token_id", self.default_pad_id))
        return self.default_pad_id

    def max_positions(self, network):
        return getattr(network, "max_sequence_length", None)

    def raw_input(self, network, source, max_length=None, **options):
        limit = self.max_positions(network)
        if max_length is not None and limit is not None and max_length > limit:
            raise ValueError(
                f"pretrained: max_length={max_length} is longer than the {limit} positions of "
                f"this {self.name} checkpoint."
            )
        return keras.Input(shape=(max_length,), dtype="int32", name="text")

    def encode(self, network, raw, source, training=None):
        mask = SequenceMask(padding_id=self.pad_id(source), name="sequence_mask")(raw)
        sequence = network({"token_ids": raw, "padding_mask": mask}, training=training)
        return Encoded(sequence, mask, class_token_pooled(source, sequence))

    def blocks(self, network):
        layers = [[network.get_layer(f"transformer_layer_{i}")] for i in range(network.num_layers)]
        layers[0][:0] = [network.get_layer(name) for name in self.embedding_layers]
        return layers

    def spec_arguments(self, source):
        if source.format == "transformers":
            config = source.config
            return {
                "pad_id": self.pad_id(source),
                "start_id": int(config.get("bos_token_id", 0)),
                "end_id": int(config.get("eos_token_id", 2)),
            }
        tokenizer = self.tokenizer(source)
        return {
            "pad_id": int(tokenizer.pad_token_id),
            "start_id": int(tokenizer.start_token_id),
            "end_id": int(tokenizer.end_token_id),
        }

    def tokenizer(self, source):
        import keras_hub

        return keras_hub.tokenizers.Tokenizer.from_preset(source.location)


@register_family
class RobertaFamily(TextEncoderFamily):
    """RoBERTa: byte-level BPE ids, `<s>` = 0 first, `</s>` = 2 last, `<pad>` = 1.

    keras-hub numbers positions 0, 1, ... where the reference numbers them from `pad_id + 1`
    and skips padding; the converter shifts the position table, so the states of real tokens
    of right-padded text match the reference (padded positions differ and are masked). The
    reference also adds the checkpoint's one token-type embedding to every token, which
    keras-hub's backbone lacks: it is folded into the position table (`_fold_token_type`).
    A pad id inside the text (the literal string "<pad>", which the reference tokenizer keeps
    as an attended token) is padding to the branch: such rows differ from the reference after
    that token. `pooling="pooler"` is the checkpoint's pooling head (`pooler_output`, tanh of
    a dense layer on `<s>`) where it holds one. Measured against Hugging Face's `RobertaModel`
    and `XLMRobertaModel` on tiny random checkpoints: last hidden state within 3e-6 at real
    positions of right-padded rows.

    keras-hub's RoBERTa fixes the layer-norm epsilon at 1e-5 and uses exact GELU and absolute
    positions: checkpoints with other settings are refused.
    """

    name = "roberta"
    model_types = ("roberta",)
    backbone_classes = ("RobertaBackbone",)
    embedding_layers = ("embeddings", "embeddings_layer_norm")
    default_pad_id = 1
    # keras-hub's XLM-RoBERTa converter folds the token-type row itself; its RoBERTa one drops it.
    converter_folds_token_type = False

    def config_overrides(self, source):
        check_config_value(source, self.name, "hidden_act", "gelu", "gelu", " (exact GELU)")
        check_config_value(source, self.name, "layer_norm_eps", 1e-5, 1e-12)
        check_config_value(source, self.name, "position_embedding_type", "absolute", "absolute")
        return {"dropout": float(source.config.get("hidden_dropout_prob", 0.1))}

    def load(self, source):
        network = super().load(source)
        if source.format == "transformers" and not self.converter_folds_token_type:
            _fold_token_type(network, source)
        return network


def _fold_token_type(network, source):
    """Adds the checkpoint's token-type-0 embedding to the position table.

    The reference adds `token_type_embeddings[0]` to every token (RoBERTa has one token type);
    keras-hub's backbone has no token-type table. Folding the row into every position's
    embedding gives the same sum for any checkpoint (released RoBERTa checkpoints have a zero
    row, a tiny random one does not).
    """
    import numpy as np

    table = checkpoint_tensor(source, "embeddings.token_type_embeddings.weight")
    if table is None or not np.any(table[0]):
        return
    positions = network.embeddings.position_embedding.position_embeddings
    positions.assign(keras.ops.convert_to_numpy(positions) + table[0][None, :].astype("float32"))


@register_family
class XLMRobertaFamily(RobertaFamily):
    """XLM-RoBERTa: RoBERTa's architecture with a SentencePiece vocabulary (see `RobertaFamily`)."""

    name = "xlm_roberta"
    model_types = ("xlm-roberta",)
    backbone_classes = ("XLMRobertaBackbone",)
    converter_folds_token_type = True
