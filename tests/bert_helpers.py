"""Writers of tiny BERT checkpoints for the tests (no network, no torch)."""

import json
import os

import numpy as np

TINY_VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "the", "cat", "dog", "sat", "on", "mat", "a", "red", "blue", "play", "##ing", "##s",
    "cafe", "caf", "##é", ".", ",", "!", "?", "东", "京",
]  # fmt: skip


def write_safetensors(path, tensors):
    """Writes float32 numpy arrays in the safetensors layout (header length, JSON header, data)."""
    header, chunks, offset = {}, [], 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    raw = json.dumps(header).encode("utf-8")
    with open(path, "wb") as f:
        f.write(len(raw).to_bytes(8, "little"))
        f.write(raw)
        f.write(b"".join(chunks))


def write_tiny_bert(directory, hidden=8, layers=2, heads=2, intermediate=16, lower_case=True):
    """A random BERT checkpoint directory laid out as `save_pretrained` writes one."""
    rng = np.random.default_rng(1)
    os.makedirs(directory, exist_ok=True)
    config = {
        "model_type": "bert",
        "hidden_act": "gelu",
        "hidden_size": hidden,
        "intermediate_size": intermediate,
        "num_attention_heads": heads,
        "num_hidden_layers": layers,
        "max_position_embeddings": 32,
        "type_vocab_size": 2,
        "vocab_size": len(TINY_VOCAB),
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
    }
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f)
    with open(os.path.join(directory, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": lower_case, "strip_accents": None}, f)
    with open(os.path.join(directory, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(TINY_VOCAB) + "\n")

    def w(*shape):
        return rng.normal(0, 0.2, size=shape).astype("float32")

    tensors = {
        "embeddings.word_embeddings.weight": w(len(TINY_VOCAB), hidden),
        "embeddings.position_embeddings.weight": w(32, hidden),
        "embeddings.token_type_embeddings.weight": w(2, hidden),
        "embeddings.LayerNorm.weight": 1 + w(hidden),
        "embeddings.LayerNorm.bias": w(hidden),
        "pooler.dense.weight": w(hidden, hidden),
        "pooler.dense.bias": w(hidden),
    }
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            tensors[p + f"attention.self.{name}.weight"] = w(hidden, hidden)
            tensors[p + f"attention.self.{name}.bias"] = w(hidden)
        tensors[p + "attention.output.dense.weight"] = w(hidden, hidden)
        tensors[p + "attention.output.dense.bias"] = w(hidden)
        tensors[p + "attention.output.LayerNorm.weight"] = 1 + w(hidden)
        tensors[p + "attention.output.LayerNorm.bias"] = w(hidden)
        tensors[p + "intermediate.dense.weight"] = w(intermediate, hidden)
        tensors[p + "intermediate.dense.bias"] = w(intermediate)
        tensors[p + "output.dense.weight"] = w(hidden, intermediate)
        tensors[p + "output.dense.bias"] = w(hidden)
        tensors[p + "output.LayerNorm.weight"] = 1 + w(hidden)
        tensors[p + "output.LayerNorm.bias"] = w(hidden)
    # Task checkpoints prefix the encoder's tensors with "bert."; the loader strips it.
    write_safetensors(
        os.path.join(directory, "model.safetensors"), {f"bert.{k}": v for k, v in tensors.items()}
    )
    return tensors
