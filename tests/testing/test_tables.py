"""`make_mixed_table`: deterministic files, the promised gaps, and a label no column predicts alone."""

import csv
import filecmp
import os

import cv2
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from mmkeras.testing import MixedTable, make_mixed_table

ROWS = 2000


def _read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _fill_ratio(path):
    """Share of the shape's bounding box it covers: pi/4 for a circle, 1 for a square."""
    image = cv2.imread(path).astype(np.float64)
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    shape = np.abs(image - np.median(border, axis=0)).max(axis=-1) > 60
    ys, xs = np.nonzero(shape)
    return shape.sum() / ((np.ptp(ys) + 1) * (np.ptp(xs) + 1))


def _numeric(rows, column):
    """A numeric column as (value with gaps at 0, gap indicator)."""
    values = np.array([float(r[column]) if r[column] else np.nan for r in rows])
    return np.c_[np.nan_to_num(values), np.isnan(values)]


def _one_hot(rows, column, levels):
    return np.array([[r[column] == level for level in levels] for r in rows], dtype=float)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    table = make_mixed_table(tmp_path_factory.mktemp("mixed"), rows=ROWS, seed=0)
    fit = _read(table.train) + _read(table.validation)
    test = _read(table.test)
    for rows in (fit, test):
        for r in rows:
            r["shape"] = (
                "circle"
                if _fill_ratio(os.path.join(table.directory, r["image"])) < 0.9
                else "square"
            )
    return table, fit, test


def test_same_seed_writes_identical_files_and_another_seed_does_not(tmp_path):
    first = make_mixed_table(tmp_path / "a", rows=40, seed=3)
    second = make_mixed_table(tmp_path / "b", rows=40, seed=3)
    other = make_mixed_table(tmp_path / "c", rows=40, seed=4)
    for split in ("train", "validation", "test"):
        assert filecmp.cmp(getattr(first, split), getattr(second, split), shallow=False)
        assert not filecmp.cmp(getattr(first, split), getattr(other, split), shallow=False)
    images = sorted(os.listdir(tmp_path / "a" / "images"))
    assert len(images) == 40
    _, mismatch, errors = filecmp.cmpfiles(
        tmp_path / "a" / "images", tmp_path / "b" / "images", images, shallow=False
    )
    assert not mismatch and not errors


def test_files_columns_and_splits(tmp_path):
    table = make_mixed_table(tmp_path, rows=50, seed=1, image_size=24)
    assert isinstance(table, MixedTable)
    assert table.columns == ("image", "x1", "x2", "colour", "note", "label")
    sizes = {}
    for split in ("train", "validation", "test"):
        path = getattr(table, split)
        assert path == os.path.join(str(tmp_path), f"{split}.csv")
        with open(path, newline="", encoding="utf-8") as f:
            assert next(csv.reader(f)) == list(table.columns)
        rows = _read(path)
        sizes[split] = len(rows)
        for r in rows:
            assert not os.path.isabs(r["image"])
            image = cv2.imread(os.path.join(str(tmp_path), r["image"]), cv2.IMREAD_UNCHANGED)
            assert image.shape == (24, 24, 3) and image.dtype == np.uint8
            assert r["label"] in ("yes", "no")
    assert sizes == {"train": 30, "validation": 10, "test": 10}


def test_gap_fractions_and_label_balance(table):
    _, fit, test = table
    rows = fit + test
    for column, share in (("x1", 0.15), ("x2", 0.15), ("colour", 0.10), ("note", 0.20)):
        empty = np.mean([r[column] == "" for r in rows])
        assert abs(empty - share) < 0.03, (column, empty)
    assert not any(r[c] == "" for r in rows for c in ("image", "label"))
    assert {r["colour"] for r in rows} == {"", "red", "green", "blue", "yellow"}
    assert 0.45 < np.mean([r["label"] == "yes" for r in rows]) < 0.55


def test_each_column_alone_is_near_chance(table):
    _, fit, test = table
    colours = sorted({r["colour"] for r in fit})
    notes = sorted({r["note"] for r in fit})
    features = {
        "x1": lambda rows: _numeric(rows, "x1"),
        "x2": lambda rows: _numeric(rows, "x2"),
        "colour": lambda rows: _one_hot(rows, "colour", colours),
        "shape": lambda rows: _one_hot(rows, "shape", ["circle"]),
    }
    y_fit = [r["label"] for r in fit]
    y_test = [r["label"] for r in test]
    majority = max(np.mean([y == "yes" for y in y_test]), np.mean([y == "no" for y in y_test]))
    assert majority < 0.56
    for name, featurize in features.items():
        for model in (LogisticRegression(), DecisionTreeClassifier(max_depth=4, random_state=0)):
            accuracy = model.fit(featurize(fit), y_fit).score(featurize(test), y_test)
            assert accuracy < 0.6, (name, type(model).__name__, accuracy)
    # The note carries a weak signal, and nothing more.
    note = LogisticRegression().fit(_one_hot(fit, "note", notes), y_fit)
    assert 0.52 < note.score(_one_hot(test, "note", notes), y_test) < 0.65


def test_shape_and_sign_of_x1_together_give_the_label(table):
    _, fit, test = table
    rows = [r for r in fit + test if r["x1"]]
    assert len(rows) > 0.8 * ROWS
    rule = ["yes" if (r["shape"] == "circle") == (float(r["x1"]) > 0) else "no" for r in rows]
    assert np.mean([a == r["label"] for a, r in zip(rule, rows, strict=True)]) == 1.0
    circles = np.mean([r["shape"] == "circle" for r in fit + test])
    assert 0.45 < circles < 0.55


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rows": 5}, "`rows` must be an int of at least 10; received 5"),
        ({"rows": 20.0}, "`rows` must be an int of at least 10; received 20.0"),
        ({"image_size": 8}, "`image_size` must be an int of at least 16; received 8"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_mixed_table(tmp_path, **kwargs)
    assert not os.listdir(tmp_path)
