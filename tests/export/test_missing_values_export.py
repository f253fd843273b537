"""Missing values from a config to a served request: NaN, an empty text, an unseen category."""

import csv
import math

import numpy as np
import pytest
import tensorflow as tf

import mmkeras as mk
from mmkeras.config import from_dict


def _write_rows(path, n=24):
    rng = np.random.default_rng(0)
    colours = ["red", "green", "blue"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["a", "b", "colour", "note", "label"])
        for i in range(n):
            a, b = rng.normal(size=2).round(3)
            writer.writerow(
                [
                    "" if i % 4 == 0 else a,
                    "" if i % 5 == 1 else b,
                    "" if i % 6 == 2 else colours[i % 3],
                    "" if i % 3 == 0 else ("good day" if a + b > 0 else "bad day"),
                    "pos" if a + b > 0 else "neg",
                ]
            )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("missing")
    _write_rows(folder / "train.csv")
    config = {
        "name": "missing",
        "output_dir": str(folder / "runs"),
        "seed": 1,
        "data": {
            "train": "train.csv",
            "schema": {
                "x": ["a", "b"],
                "categorical": ["colour"],
                "note": "note",
                "label": "label",
            },
            "specs": {
                "x": {"modality": "tabular", "impute": True},
                "note": {
                    "modality": "text",
                    "max_length": 4,
                    "vocab_size": 10,
                    "allow_empty": True,
                },
            },
            "categorical": {"max_categories": 2},
            "batch_size": 8,
        },
        "model": {
            "branches": {
                "x": {"kind": "tabular_mlp", "hidden_units": [4], "output_dim": 4},
                "categorical": {"kind": "tabular_mlp", "hidden_units": [], "output_dim": 4},
                "note": {
                    "kind": "text_rnn",
                    "embedding_dim": 4,
                    "units": 4,
                    "output_dim": 4,
                    "bidirectional": False,
                },
            },
            "task": {"kind": "classification"},
        },
        "train": {"epochs": 1, "verbose": 0},
        "callbacks": {"tensorboard": False},
    }
    run = mk.train.fit(from_dict(config, base_dir=str(folder)), verbose=False)
    export = mk.export.saved_model(run.model, run.pipeline, str(folder / "export"))
    return run, export


def test_a_config_with_missing_values_trains(trained):
    run, _ = trained
    pipe = run.pipeline
    assert run.config.data.specs["x"].impute and run.config.data.specs["note"].allow_empty
    # Two features imputed plus two indicators; two learnt colours plus unknown and missing.
    assert pipe.num_features("x") == 4 and pipe.num_features("categorical") == 4
    branches = run.config.model.branches
    assert branches["x"].builder_kwargs()["num_features"] == 4
    assert branches["categorical"].builder_kwargs()["variance"] == [1.0] * 4
    assert len(run.history) == 1


def test_the_export_serves_nan_an_empty_text_and_an_unseen_category(trained):
    run, export = trained
    predictor = mk.export.load(export)
    request = {
        "x": [[math.nan, 0.5], [1.0, 2.0]],
        "categorical": [["purple"], [""]],
        "note": ["", "good day"],
    }
    out = predictor.predict(request)
    assert out["probabilities"].shape == (2, 2)
    assert np.isfinite(out["probabilities"]).all()
    # Serving preprocesses as evaluation does: same model inputs, same predictions.
    raw = {
        "x": tf.constant(request["x"], tf.float32),
        "categorical": tf.constant(request["categorical"]),
        "note": tf.constant(request["note"]),
    }
    inputs = run.pipeline.preprocess(raw)
    np.testing.assert_array_equal(inputs["x"].numpy()[0, 2:], [1, 0])
    np.testing.assert_array_equal(inputs["categorical"].numpy(), [[0, 0, 1, 0], [0, 0, 0, 1]])
    expected = run.model.predict(inputs, verbose=0)
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-5)


def test_the_export_still_refuses_infinities(trained):
    _, export = trained
    predictor = mk.export.load(export)
    with pytest.raises(tf.errors.InvalidArgumentError, match="tabular input `x` has infinite"):
        predictor.predict({"x": [[math.inf, 0.0]], "categorical": [["red"]], "note": ["a"]})
