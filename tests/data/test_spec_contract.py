"""A modality is one `Spec` class: the pipeline composes specs, saves their state in the
layout saved runs already hold, and never changes the spec objects a caller passed."""

import json

import numpy as np
import tensorflow as tf

import mmkeras as mk
from mmkeras.data.spec import Spec


class ScaledNumberSpec(Spec):
    """A number in one column, divided by the largest seen in `adapt`: a modality in one class."""

    modality = "number"

    def __init__(self, offset=0.0):
        self.offset = offset
        self.reset_state()

    def reset_state(self):
        self.scale = None

    @property
    def adapted(self):
        return self.scale is not None

    @property
    def shape(self):
        return (1,)

    def check_value(self, value):
        return float(value), 0, None

    def adapt(self, values, name):
        self.scale = max(abs(v) for v in values)

    def table_column(self, values):
        return np.array(values, np.float32)

    def raw_spec(self, name, column):
        return tf.TensorSpec((None,), tf.float32, name=name)

    def decode_batch(self, x):
        return (x[:, None] + self.offset) / self.scale, tf.ones_like(x, tf.bool)

    def save_assets(self, folder, name):
        return self.get_config(), {"scales": self.scale}

    def load_state(self, state, folder):
        self.scale = state.get("scales")

    def get_config(self):
        return {"offset": self.offset}


def test_a_new_modality_is_one_class(tmp_path):
    rows = [{"x": str(v), "label": "ab"[v % 2]} for v in (1, 2, 4, 8)]
    pipe = mk.data.Pipeline(schema={"x": "x", "label": "label"}, specs={"x": ScaledNumberSpec()})
    assert not pipe.adapted
    pipe.adapt(rows)
    assert pipe.input_specs()["x"] == {"modality": "number", "shape": (1,), "dtype": "float32"}
    ((x, y),) = list(pipe.dataset(rows, batch_size=4))
    np.testing.assert_allclose(x["x"][:, 0], [0.125, 0.25, 0.5, 1.0])
    np.testing.assert_array_equal(y, [1, 0, 0, 0])
    pipe.save(str(tmp_path / "pipe"))
    loaded = mk.data.Pipeline.load(str(tmp_path / "pipe"))
    assert loaded.specs["x"].scale == 8.0
    np.testing.assert_allclose(loaded.preprocess({"x": tf.constant([4.0])})["x"], [[0.5]])


def test_adapt_leaves_the_callers_spec_objects_unchanged():
    rows = [{"text": "a cat", "m1": 1, "m2": 2, "label": "x"}]
    text, tab = mk.data.TextSpec(max_length=4), mk.data.TabularSpec(normalize=True)
    first = mk.data.Pipeline(
        schema={"text": "text", "meta": ["m1", "m2"], "label": "label"},
        text=text,
        specs={"meta": tab},
    )
    first.adapt(rows)
    assert first.adapted and text.text_tokenizer is None and tab.stats is None
    second = mk.data.Pipeline(
        schema={"text": "text", "meta": ["m1", "m2"], "label": "label"},
        text=text,
        specs={"meta": tab},
    )
    assert not second.adapted


def test_a_pipeline_saved_in_the_earlier_layout_loads(tmp_path):
    # pipeline.json as saved runs hold it: every state section present, some empty.
    folder = tmp_path / "pipe"
    folder.mkdir()
    (folder / "vocab_text.txt").write_text("[PAD]\n[UNK]\ncat\ndog\n", encoding="utf-8")
    config = {
        "schema": {"text": "caption", "meta": ["a", "b"], "label": "label", "score": "score"},
        "specs": {
            "text": {
                "class_name": "TextSpec",
                "config": {
                    "tokenizer": "word",
                    "max_length": 4,
                    "vocab_size": 10,
                    "vocab": None,
                    "split": "whitespace",
                    "lower_case": None,
                    "min_count": 1,
                    "source": "column",
                    "start_end": False,
                },
            },
            "meta": {"class_name": "TabularSpec", "config": {"normalize": True}},
            "label": {
                "class_name": "LabelSpec",
                "config": {"kind": "classification", "classes": None, "separator": "|"},
            },
            "score": {
                "class_name": "LabelSpec",
                "config": {"kind": "regression", "classes": None, "separator": "|"},
            },
        },
        "root": None,
        "allow_missing": False,
        "delimiter": None,
        "confine_paths": False,
        "root_abspath": None,
        "state": {
            "classes": {"label": ["neg", "pos"]},
            "regression_dims": {"score": 2},
            "tabular_stats": {"meta": [[1.0, 2.0], [0.5, 4.0]]},
            "vocabularies": {"text": "vocab_text.txt"},
        },
    }
    (folder / "pipeline.json").write_text(json.dumps(config), encoding="utf-8")
    pipe = mk.data.Pipeline.load(str(folder))
    assert pipe.adapted
    assert pipe.labels == {"label": ["neg", "pos"], "score": []}
    assert pipe.num_classes == {"label": 2, "score": 2}
    assert pipe.tokenizer("text").vocabulary == ["cat", "dog"]
    np.testing.assert_array_equal(pipe.tabular_stats("meta")[1], [0.5, 4.0])
    out = pipe.preprocess({"text": tf.constant(["dog cat"]), "meta": tf.constant([[2.0, 6.0]])})
    np.testing.assert_array_equal(out["text"], [[3, 2, 0, 0]])
    np.testing.assert_allclose(out["meta"], [[2.0, 1.0]])
    # Saved again, the state keeps that layout.
    pipe.save(str(tmp_path / "again"))
    saved = json.loads((tmp_path / "again" / "pipeline.json").read_text(encoding="utf-8"))
    assert saved["state"] == config["state"]
    # The specs' configs gain the arguments added since, at their defaults.
    config["specs"]["text"]["config"]["allow_empty"] = False
    config["specs"]["meta"]["config"]["impute"] = False
    assert saved["specs"] == config["specs"]
