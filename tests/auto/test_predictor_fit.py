"""`mk.Predictor` on a table of an image, numbers with gaps, categories and texts.

The label is "yes" only for a circle with `x1 > 0` (`make_mixed_table(rule="and")`): each
column alone is right on at most the 75% of rows whose label is the majority "no"; the two
together decide every row where `x1` is present.
"""

import math
import os

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import mmkeras as mk
from mmkeras.testing import make_mixed_table

# One fit serves every test of the module: with `pytest -n 2 --dist loadgroup` they run in one
# worker, so it is trained once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("predictor_fit")]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    root = tmp_path_factory.mktemp("predictor")
    table = make_mixed_table(str(root / "table"), rows=1000, seed=0, rule="and")
    pred = mk.Predictor(label="label", path=str(root / "pred"), seed=0)
    pred.fit(table.train, tuning_data=table.validation, num_trials=4, time_limit=300)
    return table, pred


def test_columns_and_problem_are_inferred(fitted):
    _, pred = fitted
    assert pred.problem_type == "binary"
    assert pred.column_types == {
        "image": "image",
        "x1": "numeric",
        "x2": "numeric",
        "colour": "categorical",
        "note": "categorical",
    }


def test_accuracy_is_well_above_every_single_column(fitted):
    table, pred = fitted
    test = pd.read_csv(table.test, dtype=str, keep_default_na=False)
    majority = float(np.mean(test["label"] == "no"))
    assert 0.7 < majority < 0.8  # what any one column alone can reach at most
    accuracy = pred.evaluate(table.test)["accuracy"]
    assert accuracy >= majority + 0.1, (accuracy, majority)


def test_the_leaderboard_lists_every_trial(fitted):
    _, pred = fitted
    board = pred.leaderboard()
    trials = board[board["trial"].str.startswith("trial_")]
    assert len(trials) == 4
    assert set(trials["status"]) == {"ok"}
    assert (trials["seconds"] > 0).all()
    assert board["score"].iloc[0] == board["score"].max()
    assert board["kept"].any()
    # The first trial trains the preset's defaults.
    first = trials.set_index("trial").loc["trial_001"]
    assert first["fusion"] == "concat" and first["learning_rate"] == pytest.approx(2e-3)


def test_rows_with_gaps_predict(fitted):
    table, pred = fitted
    rows = pd.read_csv(table.test, dtype=str, keep_default_na=False).head(4)
    rows["image"] = [os.path.join(table.directory, p) for p in rows["image"]]
    rows = rows.drop(columns=["label"])
    rows.loc[0, ["x1", "x2", "colour", "note"]] = ["", "", "", ""]
    rows.loc[1, "image"] = ""  # an absent image: the other inputs still predict
    probabilities = pred.predict_proba(rows)
    assert list(probabilities.columns) == ["no", "yes"]
    assert np.isfinite(probabilities.to_numpy()).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    labels = pred.predict(rows)
    assert set(labels) <= {"no", "yes"} and len(labels) == 4


def test_unusable_rows_are_named_or_skipped(fitted):
    table, pred = fitted
    rows = pd.read_csv(table.test, dtype=str, keep_default_na=False).head(3)
    rows["image"] = [os.path.join(table.directory, p) for p in rows["image"]]
    rows.loc[2, "image"] = os.path.join(table.directory, "missing.png")
    with pytest.raises(
        ValueError, match=r"1 of 3 rows cannot be used \(row 2: image: file_missing"
    ):
        pred.predict(rows)
    labels = pred.predict(rows, errors="skip")
    assert labels.isna().tolist() == [False, False, True]
    with pytest.raises(ValueError, match="lacks the columns \\['x1'\\]"):
        pred.predict(rows.drop(columns=["x1"]))


def test_load_gives_identical_predictions(fitted):
    table, pred = fitted
    loaded = mk.Predictor.load(pred.path, verbose=False)
    assert loaded.members == pred.members and loaded.problem_type == "binary"
    np.testing.assert_array_equal(
        loaded.predict_proba(table.test).to_numpy(), pred.predict_proba(table.test).to_numpy()
    )


def test_the_export_serves_raw_bytes(fitted, tmp_path):
    table, pred = fitted
    export = pred.export(str(tmp_path / "serving"))
    rows = pd.read_csv(table.test, dtype=str, keep_default_na=False).head(2)
    with open(os.path.join(table.directory, rows["image"][0]), "rb") as f:
        image = f.read()
    serving = tf.saved_model.load(export).signatures["serving_default"]
    names = {p.name: p for p in pred.plans}
    request = {
        "image": tf.constant([image, image]),
        names["numeric"].name: tf.constant([[0.5, math.nan], [math.nan, math.nan]], tf.float32),
        names["categorical"].name: tf.constant([["red", ""], ["", "a new note"]]),
    }
    out = serving(**request)
    probabilities = out["probabilities"].numpy()
    assert probabilities.shape == (2, 2) and np.isfinite(probabilities).all()
    # The export predicts as the predictor does for the same row.
    row = pd.DataFrame(
        {
            "image": [os.path.join(table.directory, rows["image"][0])],
            "x1": ["0.5"],
            "x2": [""],
            "colour": ["red"],
            "note": [""],
        }
    )
    np.testing.assert_allclose(probabilities[0], pred.predict_proba(row).to_numpy()[0], atol=1e-5)
