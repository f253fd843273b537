"""The tiny reference checkpoints of `tests/data/pretrained/<family>/` and their goldens."""

import json
import os

PRETRAINED_DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "pretrained")


def checkpoint_folder(family):
    return os.path.join(PRETRAINED_DATA, family)


def load_golden(family):
    with open(os.path.join(checkpoint_folder(family), "golden.json"), encoding="utf-8") as f:
        return json.load(f)
