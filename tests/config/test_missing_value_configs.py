"""Config keys of the missing-value options and of categorical inputs, and the specs they build."""

import copy

import pytest

import mmkeras as mk
import mmkeras.config as C
from mmkeras.train.builders import build_pipeline

BASE = {
    "name": "t",
    "data": {
        "train": "train.csv",
        "schema": {"x": ["a", "b"], "c": ["k"], "text": "t", "label": "y"},
        "specs": {
            "x": {"modality": "tabular", "impute": True, "normalize": True},
            "c": {"modality": "categorical", "max_categories": 5, "min_count": 2},
        },
        "text": {"allow_empty": True, "max_length": 8},
    },
    "model": {"branches": {"x": {"kind": "tabular_mlp"}, "c": {"kind": "tabular_mlp"}}},
}


def _config(change=None):
    data = copy.deepcopy(BASE)
    if change:
        change(data)
    return C.from_dict(data)


def test_the_keys_build_the_specs():
    pipe = build_pipeline(_config())
    x, c, text = pipe.specs["x"], pipe.specs["c"], pipe.specs["text"]
    assert isinstance(x, mk.data.TabularSpec) and x.impute and x.normalize
    assert isinstance(c, mk.data.CategoricalSpec)
    assert (c.max_categories, c.min_count) == (5, 2)
    assert isinstance(text, mk.data.TextSpec) and text.allow_empty and text.max_length == 8


def test_the_defaults_keep_missing_values_bad_rows():
    config = C.from_dict(
        {
            "name": "t",
            "data": {
                "train": "train.csv",
                "schema": {"x": ["a"], "text": "t", "label": "y"},
                "specs": {"x": {"modality": "tabular"}},
                "text": {},
            },
            "model": {"branches": {"x": {"kind": "tabular_mlp"}}},
        }
    )
    pipe = build_pipeline(config)
    assert not pipe.specs["x"].impute and not pipe.specs["text"].allow_empty


def test_the_categorical_section_attaches_to_the_key_categorical():
    def change(data):
        data["data"]["schema"]["categorical"] = data["data"]["schema"].pop("c")
        del data["data"]["specs"]["c"]
        data["data"]["categorical"] = {"max_categories": 3}
        data["model"]["branches"]["categorical"] = data["model"]["branches"].pop("c")

    pipe = build_pipeline(_config(change))
    assert pipe.specs["categorical"].max_categories == 3
    without_key = _config(lambda d: d["data"].update(categorical={}))
    with pytest.raises(C.ConfigError, match="data.categorical: attaches a spec to the data.schema"):
        build_pipeline(without_key)


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            lambda d: d["data"]["specs"]["c"].update(max_categories=0),
            "data.specs.c.max_categories: ",
        ),
        (lambda d: d["data"]["specs"]["x"].update(impute="maybe"), "data.specs.x.impute: "),
        (lambda d: d["data"]["text"].update(allow_empty=3), "data.text.allow_empty: "),
        (
            lambda d: d["data"]["specs"]["c"].update(vocab_size=3),
            "data.specs.c.vocab_size: unknown key",
        ),
    ],
)
def test_bad_values_name_the_key(change, expected):
    with pytest.raises(C.ConfigError) as info:
        _config(change)
    (problem,) = info.value.problems
    assert problem.startswith(expected)
