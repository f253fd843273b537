"""Text branch from a pretrained Hugging Face BERT-family checkpoint, read offline."""

import json
import os

import keras
import numpy as np

from mmkeras.branches.freezing import record_blocks, set_trainable
from mmkeras.layers.bert import BERTEmbeddings, BERTEncoderLayer, BERTPooler
from mmkeras.layers.bert._ops import ACTIVATIONS
from mmkeras.layers.modeling.masked_mean_pooling import MaskedMeanPooling
from mmkeras.layers.modeling.sequence_mask import SequenceMask

POOLINGS = ("mean", "cls", "pooler")
_SUPPORTED_MODEL_TYPES = ("bert",)
_SAFETENSORS_DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U8": np.uint8,
    "BOOL": np.bool_,
}


def read_safetensors(path):
    """Reads every tensor of a `.safetensors` file into numpy arrays, without torch.

    The format is an 8-byte little-endian header length, a JSON header mapping each name to its
    dtype, shape and byte range, then the raw little-endian data.

    Args:
        path: path of the `.safetensors` file.

    Returns:
        dict `{name: np.ndarray}`; bfloat16 tensors are widened to float32 exactly.
    """
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path!r} is not a safetensors file (shorter than its header).")
    header_size = int.from_bytes(data[:8], "little")
    if header_size > len(data) - 8:
        raise ValueError(f"{path!r} is not a safetensors file (header length {header_size}).")
    header = json.loads(data[8 : 8 + header_size].decode("utf-8"))
    body = memoryview(data)[8 + header_size :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype, shape = info["dtype"], info["shape"]
        raw = body[start:end]
        if dtype == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            array = bits.view(np.float32)
        elif dtype in _SAFETENSORS_DTYPES:
            array = np.frombuffer(raw, dtype=np.dtype(_SAFETENSORS_DTYPES[dtype]).newbyteorder("<"))
        else:
            raise ValueError(f"{path!r}: tensor {name!r} has unsupported dtype {dtype!r}.")
        tensors[name] = array.reshape(shape)
    return tensors


def read_bert_config(path):
    """Reads and checks `config.json` of a BERT checkpoint directory; returns the dict."""
    config_path = os.path.join(path, "config.json")
    if not os.path.isfile(config_path):
        raise FileNotFoundError(
            f"text_bert: no config.json in {path!r}. Expected a Hugging Face BERT checkpoint "
            "directory with config.json, model.safetensors, vocab.txt and tokenizer_config.json."
        )
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    model_type = config.get("model_type", "bert")
    if model_type not in _SUPPORTED_MODEL_TYPES:
        raise ValueError(
            f"text_bert: {config_path!r} has model_type={model_type!r}; supported model types "
            f"are {_SUPPORTED_MODEL_TYPES} (BERT, MiniLM and other checkpoints of the BERT "
            "architecture)."
        )
    position_type = config.get("position_embedding_type", "absolute")
    if position_type != "absolute":
        raise ValueError(
            f"text_bert: {config_path!r} has position_embedding_type={position_type!r}; only "
            "'absolute' is supported."
        )
    activation = config.get("hidden_act", "gelu")
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"text_bert: {config_path!r} has hidden_act={activation!r}; supported values are "
            f"{ACTIVATIONS}."
        )
    return config


def read_bert_weights(path):
    """Reads a checkpoint's tensors, named without the `bert.` prefix of task models."""
    st_path = os.path.join(path, "model.safetensors")
    if not os.path.isfile(st_path):
        if os.path.isfile(os.path.join(path, "pytorch_model.bin")):
            raise ValueError(
                f"text_bert: {path!r} has only pytorch_model.bin, a pickled PyTorch file that "
                "cannot be read safely without PyTorch. Convert it once, where PyTorch and "
                'transformers are installed: `python -c "from transformers import AutoModel; '
                f"AutoModel.from_pretrained({path!r}).save_pretrained({path!r}, "
                'safe_serialization=True)"`, which writes model.safetensors beside it.'
            )
        raise FileNotFoundError(f"text_bert: no model.safetensors in {path!r}.")
    tensors = read_safetensors(st_path)
    renamed = {}
    for name, value in tensors.items():
        for prefix in ("bert.", "model."):
            if name.startswith(prefix):
                name = name[len(prefix) :]
        # Checkpoints written by old code name the LayerNorm parameters gamma / beta.
        name = name.replace("LayerNorm.gamma", "LayerNorm.weight")
        name = name.replace("LayerNorm.beta", "LayerNorm.bias")
        renamed[name] = value
    return renamed


def _take(weights, name, transpose=False):
    if name not in weights:
        raise ValueError(f"text_bert: the checkpoint has no tensor {name!r}.")
    value = np.asarray(weights[name], dtype=np.float32)
    return value.T if transpose else value


def _encoder_layer_weights(weights, i):
    p = f"encoder.layer.{i}."
    names = [
        ("attention.self.query.weight", True),
        ("attention.self.query.bias", False),
        ("attention.self.key.weight", True),
        ("attention.self.key.bias", False),
        ("attention.self.value.weight", True),
        ("attention.self.value.bias", False),
        ("attention.output.dense.weight", True),
        ("attention.output.dense.bias", False),
        ("attention.output.LayerNorm.weight", False),
        ("attention.output.LayerNorm.bias", False),
        ("intermediate.dense.weight", True),
        ("intermediate.dense.bias", False),
        ("output.dense.weight", True),
        ("output.dense.bias", False),
        ("output.LayerNorm.weight", False),
        ("output.LayerNorm.bias", False),
    ]
    # Same order as the variables created in BERTEncoderLayer.build.
    return [_take(weights, p + name, transpose) for name, transpose in names]


def _check_trainable(trainable, num_layers):
    if isinstance(trainable, bool):
        return num_layers if trainable else 0
    if isinstance(trainable, int) and 0 <= trainable <= num_layers:
        return trainable
    raise ValueError(
        f"text_bert: `trainable` must be True, False or an int k in [0, {num_layers}] (the top k "
        f"encoder layers are trainable); received trainable={trainable!r}."
    )


def text_bert(
    path,
    pooling="mean",
    trainable=False,
    max_length=128,
    return_sequence=False,
    dropout=None,
    name="text_bert",
):
    """Builds a text branch from a Hugging Face BERT-family checkpoint directory, offline.

    The directory holds `config.json`, `model.safetensors`, `vocab.txt` and
    `tokenizer_config.json` (as written by `save_pretrained`). The encoder is rebuilt from
    `mmkeras.layers.bert` layers with the checkpoint's activation (`hidden_act`, exact erf GELU for
    "gelu") and LayerNorm epsilon, and the weights are copied in; outputs match the reference
    implementation to float32 precision. Feed it the ids of
    `mmkeras.data.wordpiece.WordPieceTokenizer(os.path.join(path, "vocab.txt"), max_length=...)`.

    Args:
        path: the checkpoint directory.
        pooling: "mean" (average of the real tokens, as sentence-transformers models are trained),
            "cls" (the `[CLS]` hidden state) or "pooler" (the checkpoint's dense + tanh on
            `[CLS]`).
        trainable: False freezes the whole encoder (feature extraction); True trains all of it; an
            int `k` trains only the top `k` encoder layers (and the pooler when `pooling="pooler"`),
            keeping embeddings and lower layers frozen.
        max_length: int, length of the id rows the branch takes; at most the checkpoint's
            `max_position_embeddings`.
        return_sequence: bool, also return the per-token hidden states and the padding mask.
        dropout: float in [0, 1) or None. None uses the checkpoint's dropout rates when some
            layer is trainable, and no dropout when the encoder is frozen (frozen features then
            do not change between training steps).
        name: name of the returned model.

    Returns:
        A functional `keras.Model` taking int32 ids `(batch, max_length)` (padding = the
        vocabulary's `[PAD]` id; the padding mask is `ids != pad_id`; one segment). It returns the
        feature `(batch, hidden_size)`, or with `return_sequence=True` a dict: `"feature"`,
        `"sequence"` `(batch, max_length, hidden_size)` and `"sequence_mask"`
        `(batch, max_length)` bool, False at padding.

    Example:
    >>> txt = text_bert("all-MiniLM-L6-v2", pooling="mean", trainable=False, max_length=128)
    >>> tok = WordPieceTokenizer("all-MiniLM-L6-v2/vocab.txt", max_length=128)
    >>> features = txt(tok(tf.constant(["A photo of a cat."])))        # (1, 384)
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"text_bert: checkpoint directory not found: {path!r}.")
    if pooling not in POOLINGS:
        raise ValueError(f"text_bert: unknown pooling={pooling!r}; allowed values are {POOLINGS}.")
    config = read_bert_config(path)
    num_layers = int(config["num_hidden_layers"])
    max_positions = int(config.get("max_position_embeddings", 512))
    if (
        isinstance(max_length, bool)
        or not isinstance(max_length, int)
        or not (2 <= max_length <= max_positions)
    ):
        raise ValueError(
            f"text_bert: `max_length` must be an int in [2, {max_positions}] (the checkpoint's "
            f"max_position_embeddings); received max_length={max_length!r}."
        )
    num_trainable = _check_trainable(trainable, num_layers)
    if dropout is not None and (
        isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1
    ):
        raise ValueError(
            f"text_bert: `dropout` must be None or a float in [0, 1); received dropout={dropout!r}."
        )
    if dropout is None:
        hidden_dropout = float(config.get("hidden_dropout_prob", 0.1)) if num_trainable else 0.0
        attention_dropout = (
            float(config.get("attention_probs_dropout_prob", 0.1)) if num_trainable else 0.0
        )
    else:
        hidden_dropout = attention_dropout = float(dropout)
    pad_id = int(config.get("pad_token_id", 0) or 0)
    epsilon = float(config.get("layer_norm_eps", 1e-12))

    # === Layers ===
    embeddings = BERTEmbeddings(
        vocab_size=int(config["vocab_size"]),
        hidden_size=int(config["hidden_size"]),
        max_position_embeddings=max_positions,
        type_vocab_size=int(config.get("type_vocab_size", 2)),
        layer_norm_epsilon=epsilon,
        dropout=hidden_dropout,
        name="bert_embeddings",
    )
    encoder_layers = [
        BERTEncoderLayer(
            num_heads=int(config["num_attention_heads"]),
            intermediate_size=int(config["intermediate_size"]),
            activation=config.get("hidden_act", "gelu"),
            layer_norm_epsilon=epsilon,
            dropout=hidden_dropout,
            attention_dropout=attention_dropout,
            name=f"bert_layer_{i}",
        )
        for i in range(num_layers)
    ]
    if pooling == "mean":
        pooler = MaskedMeanPooling(name="bert_mean_pooling")
    else:
        pooler = BERTPooler(dense=pooling == "pooler", name=f"bert_{pooling}_pooling")

    # === Functional Model ===
    ids = keras.Input(shape=(max_length,), dtype="int32", name="token_ids")
    mask = SequenceMask(padding_id=pad_id, name="sequence_mask")(ids)
    x = embeddings(ids)
    for layer in encoder_layers:
        x = layer(x, mask=mask)
    feature = pooler(x, mask=mask) if pooling == "mean" else pooler(x)
    outputs = (
        {"feature": feature, "sequence": x, "sequence_mask": mask} if return_sequence else feature
    )
    model = keras.Model(ids, outputs, name=name)

    # === Weights ===
    weights = read_bert_weights(path)
    embeddings.set_weights(
        [
            _take(weights, "embeddings.word_embeddings.weight"),
            _take(weights, "embeddings.position_embeddings.weight"),
            _take(weights, "embeddings.token_type_embeddings.weight"),
            _take(weights, "embeddings.LayerNorm.weight"),
            _take(weights, "embeddings.LayerNorm.bias"),
        ]
    )
    for i, layer in enumerate(encoder_layers):
        layer.set_weights(_encoder_layer_weights(weights, i))
    if pooling == "pooler":
        pooler.set_weights(
            [
                _take(weights, "pooler.dense.weight", transpose=True),
                _take(weights, "pooler.dense.bias"),
            ]
        )

    # === Fine-tuning ===
    # One block per encoder layer: the embeddings train only with the lowest, the pooler
    # with the top one.
    blocks = [[layer] for layer in encoder_layers]
    blocks[0].insert(0, embeddings)
    blocks[-1].append(pooler)
    record_blocks(model, blocks)
    return set_trainable(model, num_trainable)


__all__ = ["text_bert", "read_safetensors", "read_bert_config", "read_bert_weights"]
