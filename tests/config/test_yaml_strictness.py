"""YAML slips that used to pass silently: booleans for numbers, a key given twice."""

import pytest

from mmkeras.config import ConfigError, loads

BASE = """
name: strict
data:
  train: train.csv
  schema: {x: [a, b], label: label}
  specs: {x: {modality: tabular}}
  batch_size: 8
model:
  branches: {x: {kind: tabular_mlp, output_dim: 8}}
  task: {kind: classification}
train: {epochs: 2}
"""


def _problems(text):
    with pytest.raises(ConfigError) as info:
        loads(text)
    return str(info.value)


@pytest.mark.parametrize("word", ["yes", "no", "true", "off"])
def test_a_boolean_is_not_a_number(word):
    message = _problems(BASE.replace("batch_size: 8", f"batch_size: {word}"))
    assert "data.batch_size: expected a number, got" in message
    assert "YAML reads yes/no/on/off/true/false as booleans" in message


def test_a_boolean_inside_a_list_of_numbers_is_refused():
    text = BASE.replace("{kind: classification}", "{kind: classification, hidden_units: [16, yes]}")
    assert "model.task.hidden_units: expected a number, got [16, True]" in _problems(text)


def test_a_boolean_setting_still_takes_yes():
    assert loads(BASE.replace("{epochs: 2}", "{epochs: 2, xla: yes}")).train.xla is True


def test_numbers_still_pass():
    config = loads(BASE.replace("{epochs: 2}", "{epochs: 2, class_weight: {a: 1, b: 2.5}}"))
    assert config.data.batch_size == 8 and config.train.class_weight == {"a": 1.0, "b": 2.5}


def test_a_duplicated_key_is_an_error_with_both_lines():
    text = BASE.replace("train: {epochs: 2}", "train: {epochs: 2}\nseed: 1\nseed: 2")
    message = _problems(text)
    assert "duplicate key 'seed' (first given at line 12)" in message
    assert "at line 13" in message


def test_a_duplicated_nested_key_is_an_error():
    text = BASE.replace("  batch_size: 8", "  batch_size: 8\n  batch_size: 16")
    assert "duplicate key 'batch_size'" in _problems(text)
