"""`mk.Predictor` options: regression, pretrained encoders, the command line, bad arguments."""

import json
import os

import numpy as np
import pandas as pd
import pytest

import mmkeras as mk
from mmkeras.cli import main

HERE = os.path.dirname(os.path.abspath(__file__))
ROBERTA = os.path.join(HERE, "..", "data", "pretrained", "roberta")

pytestmark = pytest.mark.slow


def _regression_table(directory, rows=240, seed=0):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    kind = rng.choice(["low", "high"], size=rows)
    y = 2.0 * a - b + np.where(kind == "high", 3.0, 0.0)
    frame = pd.DataFrame({"a": a.round(3), "b": b.round(3), "kind": kind, "y": y.round(3)})
    frame.loc[rng.random(rows) < 0.1, "a"] = np.nan  # gaps, imputed
    os.makedirs(directory, exist_ok=True)
    paths = {}
    for name, part in (("train", frame[:160]), ("val", frame[160:200]), ("test", frame[200:])):
        paths[name] = os.path.join(directory, f"{name}.csv")
        part.to_csv(paths[name], index=False)
    return paths


def test_a_regression_from_a_dataframe(tmp_path):
    paths = _regression_table(str(tmp_path / "table"))
    train = pd.read_csv(paths["train"])
    pred = mk.Predictor(label="y", path=str(tmp_path / "pred"), preset="fast", verbose=False)
    pred.fit(train, tuning_data=paths["val"])
    assert pred.problem_type == "regression"
    assert pred.column_types == {"a": "numeric", "b": "numeric", "kind": "categorical"}
    metrics = pred.evaluate(paths["test"])
    spread = float(pd.read_csv(paths["test"])["y"].std())
    assert metrics["rmse"] < 0.6 * spread, (metrics, spread)
    values = pred.predict(pd.read_csv(paths["test"]).drop(columns=["y"]))
    assert len(values) == 40 and all(isinstance(v, float) for v in values)
    with pytest.raises(ValueError, match="a regression has no probabilities"):
        pred.predict_proba(paths["test"])


def test_a_text_column_read_by_a_pretrained_encoder(tmp_path):
    rng = np.random.default_rng(0)
    words = {"yes": ["great", "lovely", "good"], "no": ["awful", "poor", "bad"]}
    labels = rng.choice(["yes", "no"], size=120)
    texts = [f"a {rng.choice(words[y])} day" if i % 7 else "" for i, y in enumerate(labels)]
    frame = pd.DataFrame({"text": texts, "label": labels})
    pred = mk.Predictor(
        label="label",
        path=str(tmp_path / "pred"),
        preset="fast",
        column_types={"text": "text"},
        encoders={"text": ROBERTA},
        verbose=False,
    )
    pred.fit(frame[:90], tuning_data=frame[90:])
    trial = pred.leaderboard()["trial"].iloc[0]
    config = mk.config.load(os.path.join(pred.path, "trials", trial, "config.yaml"))
    assert config.model.branches["text"].kind == "pretrained"
    assert config.data.specs["text"].tokenizer == "pretrained"
    assert set(pred.predict(frame[90:])) <= {"yes", "no"}  # empty texts included
    with pytest.raises(ValueError, match="encoders\\['label'\\]: a pretrained encoder reads"):
        mk.Predictor(label="text", encoders={"label": ROBERTA}, preset="fast").fit(frame)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"label": ""}, "`label` must be a column name"),
        (
            {"label": "y", "problem_type": "ranking"},
            "unknown problem_type='ranking'; `problem_type` must be one of \\[None, ",
        ),
        ({"label": "y", "preset": "huge"}, "unknown preset='huge'"),
        ({"label": "y", "seed": 1.5}, "`seed` must be an integer; received seed=1.5"),
        ({"label": "y", "encoders": ["a"]}, "`encoders` must be a dict"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mk.Predictor(**kwargs)


def test_bad_fit_arguments_are_named(tmp_path):
    paths = _regression_table(str(tmp_path / "table"), rows=240)
    pred = mk.Predictor(label="y", path=str(tmp_path / "pred"), verbose=False)
    with pytest.raises(
        ValueError,
        match="Predictor.fit: `time_limit` must be a positive number or None; received time_limit=0",
    ):
        pred.fit(paths["train"], time_limit=0)
    with pytest.raises(
        ValueError,
        match="Predictor.fit: `num_trials` must be a positive integer or None; received num_trials=0",
    ):
        pred.fit(paths["train"], num_trials=0)
    with pytest.raises(ValueError, match="has no label column 'target'"):
        mk.Predictor(label="target", verbose=False).fit(paths["train"])
    with pytest.raises(RuntimeError, match="call `fit`"):
        pred.predict(paths["test"])
    with pytest.raises(RuntimeError, match="Predictor.save: call `fit`"):
        pred.save()
    with pytest.raises(ValueError, match="holds no predictor.json"):
        mk.Predictor.load(str(tmp_path))


def test_mmkeras_fit_on_the_command_line(tmp_path, capsys):
    paths = _regression_table(str(tmp_path / "table"))
    out = str(tmp_path / "pred")
    code = main(
        [
            "fit",
            paths["train"],
            "--label",
            "y",
            "--tuning-data",
            paths["val"],
            "--test",
            paths["test"],
            "--preset",
            "fast",
            "--path",
            out,
            "--export",
            str(tmp_path / "serving"),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "trial_001" in printed and '"rmse"' in printed
    assert os.path.isfile(os.path.join(tmp_path, "serving", "saved_model.pb"))
    with open(os.path.join(out, "predictor.json")) as f:
        assert json.load(f)["problem_type"] == "regression"
    assert main(["fit", str(tmp_path / "none.csv"), "--label", "y"]) == 2
    assert main(["fit", paths["train"], "--label", "y", "--time-limit", "-1"]) == 2
