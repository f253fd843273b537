"""Readers of the reference folders in tests/data/pretrained (numpy and json only, no torch).

Each folder holds a tiny Hugging Face checkpoint and `golden.json`, written by
scripts/make_pretrained_golden.py. In `golden.json`, inputs and preprocessor outputs are exact
arrays stored as `{"dtype", "shape", "base64"}` (little-endian) and model outputs are nested lists
rounded to 7 significant digits; `load_golden` turns both into numpy arrays.
"""

import base64
import json
import os

import numpy as np

GOLDEN_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "pretrained")
IMAGE_FAMILIES = ("vit", "deit", "dinov2")
IMAGE_TEXT_FAMILIES = ("clip", "siglip")
TEXT_FAMILIES = ("roberta", "xlm_roberta")
AUDIO_FAMILIES = ("whisper", "wav2vec2", "hubert")
FAMILIES = IMAGE_FAMILIES + IMAGE_TEXT_FAMILIES + TEXT_FAMILIES + AUDIO_FAMILIES


def golden_dir(family):
    """The folder of `family`, usable as a Hugging Face checkpoint path."""
    if family not in FAMILIES:
        raise ValueError(f"Unknown family {family!r}; expected one of {FAMILIES}.")
    return os.path.join(GOLDEN_ROOT, family)


def load_config(family):
    with open(os.path.join(golden_dir(family), "config.json"), encoding="utf-8") as f:
        return json.load(f)


def decode(value):
    """A stored value as numpy when it is numeric: packed arrays exactly, nested lists as is."""
    if isinstance(value, dict) and "base64" in value:
        dtype = np.dtype(value["dtype"]).newbyteorder("<")
        data = np.frombuffer(base64.b64decode(value["base64"]), dtype=dtype)
        return data.reshape(value["shape"]).astype(dtype.newbyteorder("="))
    if isinstance(value, list):
        if value and all(isinstance(item, dict) and "base64" in item for item in value):
            return [decode(item) for item in value]
        try:
            array = np.asarray(value)
        except ValueError:  # ragged, e.g. per-sentence token strings
            return value
        if array.dtype.kind == "f":
            return array.astype(np.float32)
        if array.dtype.kind in "iub":
            return array.astype(np.int64)
    return value


def load_golden(family):
    """`golden.json` of `family` with every numeric entry as a numpy array."""
    with open(os.path.join(golden_dir(family), "golden.json"), encoding="utf-8") as f:
        golden = json.load(f)
    return {key: decode(value) for key, value in golden.items()}


def read_safetensors_header(path):
    """The tensor table of a safetensors file: {name: {"dtype", "shape", "data_offsets"}}."""
    with open(path, "rb") as f:
        length = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(length))
    header.pop("__metadata__", None)
    return header
