"""Each task kind has its own typed config; `model.task` picks one by its `kind` key."""

import copy

import pytest

import mmkeras.config as C
from mmkeras.config import schema

BASE = {
    "name": "t",
    "data": {"train": "train.csv", "schema": {"x": ["a", "b"], "label": "y"}},
    "model": {"branches": {"x": {"kind": "tabular_mlp", "output_dim": 8}}},
}


def _config(task):
    data = copy.deepcopy(BASE)
    data["model"]["task"] = task
    return C.from_dict(data)


def _problems(task):
    with pytest.raises(C.ConfigError) as info:
        _config(task)
    return info.value.problems


@pytest.mark.parametrize(
    "task, cls",
    [
        ({}, schema.ClassificationTaskConfig),
        ({"kind": "classification", "binary": True}, schema.ClassificationTaskConfig),
        ({"kind": "multilabel", "threshold": 0.3}, schema.MultiLabelTaskConfig),
        ({"kind": "regression", "loss": "mae"}, schema.RegressionTaskConfig),
    ],
)
def test_the_kind_picks_the_config_class(task, cls):
    config = _config(task)
    assert type(config.model.task) is cls
    assert isinstance(config.model.task, C.TaskConfig)
    assert C.from_dict(C.to_dict(config)).model.task == config.model.task


def test_several_tasks_each_get_the_config_of_their_kind():
    config = _config({"y": {"kind": "regression"}, "z": {"threshold": 0.2, "kind": "multilabel"}})
    assert type(config.model.task["y"]) is schema.RegressionTaskConfig
    assert type(config.model.task["z"]) is schema.MultiLabelTaskConfig


def test_a_key_of_another_kind_names_the_key_the_kind_and_the_allowed_keys():
    (p,) = _problems({"kind": "multilabel", "label_smoothing": 0.1})
    assert p == (
        "model.task.label_smoothing: does not apply to a multilabel task; allowed keys: "
        "dropout, hidden_units, kind, label_names, loss_weight, name, num_labels, threshold"
    )
    (p,) = _problems({"y": {"kind": "regression", "class_names": ["a"]}})
    assert p.startswith("model.task.y.class_names: does not apply to a regression task")


def test_a_key_of_no_kind_is_an_unknown_key_with_the_keys_of_this_kind():
    (p,) = _problems({"kind": "regression", "num_output": 2})
    assert p.startswith("model.task.num_output: unknown key; allowed keys: dropout, hidden_units")
    assert "num_classes" not in p and p.endswith("did you mean 'num_outputs'?")


def test_an_unknown_kind_lists_the_kinds():
    (p,) = _problems({"kind": "regresion"})
    assert p == (
        "model.task.kind: 'regresion' is not allowed; allowed: 'classification', "
        "'multilabel', 'regression', 'retrieval' or 'captioning'; did you mean 'regression'?"
    )


def test_task_config_builds_the_config_of_the_kind_it_is_given():
    task = C.TaskConfig(kind="regression", num_outputs=2)
    assert type(task) is schema.RegressionTaskConfig and task.num_outputs == 2
    assert type(C.TaskConfig()) is schema.ClassificationTaskConfig
    assert task.task_kwargs() == {
        "dropout": 0.0,
        "hidden_units": (),
        "loss": "mse",
        "loss_weight": 1.0,
        "num_outputs": 2,
    }
    with pytest.raises(ValueError, match="`kind` must be one of"):
        C.TaskConfig(kind="ranking")


def test_a_written_config_has_only_the_keys_of_its_kind():
    import yaml

    task = yaml.safe_load(C.dump(_config({"kind": "regression"})))["model"]["task"]
    assert sorted(task) == sorted(schema.RegressionTaskConfig.allowed_keys())


def test_no_config_module_is_long():
    import os

    folder = os.path.dirname(C.__file__)
    for name in os.listdir(folder):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                assert sum(1 for _ in f) <= 450, name
