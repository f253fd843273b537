"""Reading the CLIP and SigLIP reference files of tests/data/pretrained/ (see its README)."""

import base64
import json
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / "data" / "pretrained"


def folder(family):
    return DATA / family


def golden(family):
    with open(folder(family) / "golden.json", encoding="utf-8") as f:
        return json.load(f)


def unpack(packed):
    """An exact array written as `{"dtype", "shape", "base64"}`."""
    data = base64.b64decode(packed["base64"])
    return np.frombuffer(data, dtype=np.dtype(packed["dtype"]).newbyteorder("<")).reshape(
        packed["shape"]
    )


def images(reference):
    """The raw uint8 images as the float32 0..255 pixels a branch takes."""
    return unpack(reference["images"]).astype("float32")


def tensor(family, name):
    """One tensor of the checkpoint, read with safetensors (no framework)."""
    from safetensors import safe_open

    with safe_open(str(folder(family) / "model.safetensors"), framework="np") as f:
        return f.get_tensor(name)


def layer_norm(x, gamma, beta, epsilon):
    x = np.asarray(x, dtype="float64")
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + epsilon) * gamma + beta


def perturb(model, seed):
    """Redraws every float weight of a keras model (no weight keeps a neutral value)."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        if "float" in str(variable.dtype):
            variable.assign(rng.normal(0.0, 0.2, tuple(variable.shape)).astype("float32"))
