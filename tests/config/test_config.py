"""Config schema: strict validation with one-line messages naming key, value and what is allowed."""

import copy
import os

import pytest

import mmkeras.config as C
from mmkeras.config.schema import BRANCH_KINDS, FUSIONS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BASE = {
    "name": "t",
    "data": {"train": "train.csv", "schema": {"x": ["a", "b"], "label": "y"}},
    "model": {"branches": {"x": {"kind": "tabular_mlp", "output_dim": 8}}},
}


def problems(change):
    data = copy.deepcopy(BASE)
    change(data)
    with pytest.raises(C.ConfigError) as info:
        C.from_dict(data)
    return info.value.problems


def test_valid_config_fills_defaults_and_round_trips(tmp_path):
    config = C.from_dict(copy.deepcopy(BASE))
    assert config.model.fusion == "concat"
    assert config.model.task.num_classes == "auto"
    assert config.model.branches["x"].builder_kwargs() == {"output_dim": 8}
    path = tmp_path / "c.yaml"
    C.dump(config, path)
    again = C.load(path)
    assert C.to_dict(again) == C.to_dict(config)
    assert again.base_dir == str(tmp_path)


def test_unknown_key_suggests_the_right_one():
    (p,) = problems(lambda d: d["model"].update(fusio="concat"))
    assert p.startswith("model.fusio: unknown key; allowed keys: branches, fusion")
    assert p.endswith("did you mean 'fusion'?")
    (p,) = problems(lambda d: d.update(trian={}))
    assert p.startswith("trian: unknown key") and "did you mean 'train'?" in p


def test_disallowed_choice_lists_allowed_and_suggests():
    (p,) = problems(lambda d: d["model"].update(fusion="atention"))
    assert p.startswith("model.fusion: 'atention' is not allowed; allowed: 'concat'")
    assert p.endswith("did you mean 'attention'?")
    (p,) = problems(lambda d: d["model"]["branches"]["x"].update(kind="tabular"))
    assert "model.branches.x.kind: 'tabular' is not allowed" in p
    assert "did you mean 'tabular_mlp'?" in p


def test_wrong_type_names_key_value_and_expected_type():
    (p,) = problems(lambda d: d.update(train={"epochs": "ten"}))
    assert p == "train.epochs: expected an integer, got 'ten' (str)"


def test_out_of_range_names_the_bound():
    (p,) = problems(lambda d: d.update(optimizer={"learning_rate": -1}))
    assert p == "optimizer.learning_rate: -1 is out of range; allowed: > 0.0"
    (p,) = problems(lambda d: d["data"].update(specs={"x": {"modality": "image", "size": [0, 4]}}))
    assert p == "data.specs.x.size[0]: 0 is out of range; allowed: > 0"


def test_auto_or_int_sizes():
    (p,) = problems(lambda d: d["model"].update(task={"kind": "classification", "num_classes": 0}))
    assert p == "model.task.num_classes: 0 is not allowed; allowed: a positive integer or 'auto'"


def test_missing_required_key():
    (p,) = problems(lambda d: d["data"].pop("train"))
    assert p == "data.train: required key is missing"


def test_task_keys_of_another_kind_are_errors():
    (p,) = problems(lambda d: d["model"].update(task={"kind": "regression", "num_classes": 3}))
    assert p.startswith("model.task.num_classes: does not apply to a regression task")


def test_multi_task_and_spec_tags_are_not_shown_in_paths():
    (p,) = problems(lambda d: d["model"].update(task={"y": {"kind": "regresion"}}))
    assert p.startswith("model.task.y.kind: 'regresion' is not allowed")
    assert p.endswith("did you mean 'regression'?")
    (p,) = problems(lambda d: d["data"].update(specs={"x": {"modality": "imag"}}))
    assert p.startswith("data.specs.x.modality: 'imag' is not allowed")
    assert p.endswith("did you mean 'image'?")


def test_cross_references_are_checked():
    (p,) = problems(lambda d: d["model"]["branches"].update(z={"kind": "text_rnn"}))
    assert p == "model.branches: ['z'] have no column in data.schema; data.schema inputs: ['x']"


def test_several_problems_are_all_reported_one_line_each():
    def change(d):
        d["model"]["fusion"] = "atention"
        d["train"] = {"epochs": 0, "strategy": "mirored"}

    found = problems(change)
    assert len(found) == 3
    assert any(p.startswith("train.strategy: 'mirored'") and "'mirrored'" in p for p in found)
    with pytest.raises(C.ConfigError) as info:
        C.from_dict({**copy.deepcopy(BASE), "train": {"epochs": 0}})
    assert str(info.value).splitlines()[0] == "1 problem in the configuration:"


def test_yaml_errors_and_missing_file(tmp_path):
    with pytest.raises(C.ConfigError, match=r"\(YAML\) at line 2"):
        C.loads("a: [1\nb: 2", source="x.yaml")
    with pytest.raises(C.ConfigError, match="does not exist"):
        C.load(tmp_path / "nope.yaml")


def test_schema_lists_match_the_model_code():
    from mmkeras.models import BRANCH_KINDS as model_kinds
    from mmkeras.models import FUSIONS as model_fusions

    assert tuple(BRANCH_KINDS) == tuple(model_kinds)
    assert tuple(FUSIONS) == tuple(model_fusions)


def test_python_api_uses_the_yaml_names():
    config = C.from_dict(copy.deepcopy(BASE))
    config.train.epochs = 3
    with pytest.raises(Exception, match="greater than 0"):
        config.train.epochs = 0
    assert "schema" in C.to_dict(config)["data"]


def test_example_configs_are_valid():
    folder = os.path.join(ROOT, "examples", "configs")
    names = sorted(n for n in os.listdir(folder) if n.endswith(".yaml"))
    assert names
    for name in names:
        config = C.load(os.path.join(folder, name))
        assert config.name


def test_config_reference_is_up_to_date():
    from mmkeras.config.reference import reference_markdown

    with open(os.path.join(ROOT, "docs", "config_reference.md"), encoding="utf-8") as f:
        assert f.read() == reference_markdown(), "regenerate docs/config_reference.md"
