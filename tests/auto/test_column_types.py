"""Column and problem types inferred from a table's values, and the overrides."""

import pandas as pd
import pytest

from mmkeras.auto import column_types as ct
from mmkeras.auto.tables import read_table


@pytest.mark.parametrize(
    "values, expected",
    [
        (["a.png", "b.JPG", "c.jpeg", ""], "image"),
        (["a.wav", "b.wav", ""], "audio"),
        (["1", "2.5", "", "-3e2"], "numeric"),
        (["red", "blue", "red", "blue", "", "red"], "categorical"),
        (["the cat sat", "a dog ran far", "birds sing", "rain falls", "sun"], "text"),
        (["id-1", "id-2", "id-3", "id-4"], "ignore"),
        (["", " ", ""], "ignore"),
        # A numeric column with one word in it is not numeric; few values repeat: categorical.
        (["1", "2", "n/a", "1", "2", "1"], "categorical"),
    ],
)
def test_column_type_from_values(values, expected):
    assert ct.infer_column_type(values) == expected


@pytest.mark.parametrize(
    "labels, expected",
    [
        (["cat", "dog", "cat"], "binary"),
        (["0", "1", "2", "1"], "multiclass"),
        (["0.5", "1.5", "2"], "regression"),
        ([str(i) for i in range(30)], "regression"),
        (["a|b", "b", ""], "multi_label"),
    ],
)
def test_problem_type_from_labels(labels, expected):
    assert ct.infer_problem_type(labels) == expected


def test_a_label_with_one_value_is_refused():
    with pytest.raises(ValueError, match="one value only"):
        ct.infer_problem_type(["a", "a", ""])
    with pytest.raises(ValueError, match="no values"):
        ct.infer_problem_type(["", ""])


def test_overrides_win_and_are_checked():
    frame = pd.DataFrame({"a": ["1", "2"], "b": ["x", "y"], "y": ["0", "1"]})
    assert ct.infer_column_types(frame, "y", {"a": "categorical"}) == {
        "a": "categorical",
        "b": "ignore",
    }
    with pytest.raises(ValueError, match="names 'zz', which the table lacks"):
        ct.infer_column_types(frame, "y", {"zz": "text"})
    with pytest.raises(ValueError, match="allowed"):
        ct.infer_column_types(frame, "y", {"a": "number"})


def test_tables_are_read_as_strings_with_gaps_empty(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("x,note,y\n1.5,NA,a\n,,b\n")
    frame, base = read_table(str(path), "train_data")
    assert frame.to_dict("list") == {"x": ["1.5", ""], "note": ["NA", ""], "y": ["a", "b"]}
    assert base == str(tmp_path)
    df = pd.DataFrame({"x": [1.5, float("nan")], "tags": [["a", "b"], None]})
    frame, _ = read_table(df, "train_data")
    assert frame.to_dict("list") == {"x": ["1.5", ""], "tags": ["a|b", ""]}


@pytest.mark.parametrize("bad", [42, None, "missing.csv"])
def test_bad_tables_are_refused(bad):
    with pytest.raises(ValueError, match="Predictor: train_data"):
        read_table(bad, "train_data")
