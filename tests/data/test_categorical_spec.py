"""`CategoricalSpec`: learnt categories, unknown and missing slots, saving."""

import numpy as np
import pytest
import tensorflow as tf

import mmkeras as mk

ROWS = [
    {"colour": "red", "size": "3", "label": "a"},
    {"colour": "blue", "size": "3.0", "label": "b"},
    {"colour": "red", "size": "", "label": "a"},
    {"colour": " green ", "size": "3", "label": "b"},
    {"colour": "blue", "size": "7", "label": "a"},
    {"colour": "", "size": "7", "label": "b"},
]


def _pipeline(allow_missing=False, **kwargs):
    return mk.data.Pipeline(
        schema={"cat": ["colour", "size"], "label": "label"},
        specs={"cat": mk.data.CategoricalSpec(**kwargs)},
        allow_missing=allow_missing,
    )


def _batch(pipe, rows):
    inputs, _ = next(iter(pipe.dataset(rows, batch_size=len(rows), verbose=False)))
    return inputs


def test_categories_are_the_most_frequent_values_ties_by_text():
    pipe = _pipeline()
    assert pipe.adapt(ROWS).num_bad_rows == 0  # empty cells are values, not bad rows
    # red and blue twice (alphabetical tie), green once; "3" and "3.0" stay apart.
    assert pipe.specs["cat"].categories == [["blue", "red", "green"], ["3", "7", "3.0"]]
    assert pipe.modality("cat") == "categorical"
    assert pipe.input_specs()["cat"]["shape"] == (10,) and pipe.num_features("cat") == 10
    # Row order does not change what is learnt.
    again = _pipeline()
    again.adapt(ROWS[::-1])
    assert again.specs["cat"].categories == pipe.specs["cat"].categories


def test_max_categories_and_min_count_limit_the_categories():
    pipe = _pipeline(max_categories=1)
    pipe.adapt(ROWS)
    assert pipe.specs["cat"].categories == [["blue"], ["3"]]
    pipe = _pipeline(min_count=2)
    pipe.adapt(ROWS)
    assert pipe.specs["cat"].categories == [["blue", "red"], ["3", "7"]]


def test_one_hot_slots_for_known_unknown_and_missing_values():
    pipe = _pipeline(min_count=2)
    pipe.adapt(ROWS)
    # Per column: blue, red, unknown, missing | 3, 7, unknown, missing.
    out = pipe.preprocess({"cat": tf.constant([["red", "7"], ["purple", ""], ["", "3.0"]])})
    np.testing.assert_array_equal(
        out["cat"].numpy(),
        [[0, 1, 0, 0, 0, 1, 0, 0], [0, 0, 1, 0, 0, 0, 0, 1], [0, 0, 0, 1, 0, 0, 1, 0]],
    )
    x = _batch(pipe, ROWS)["cat"].numpy()
    assert x.dtype == np.float32 and (x.sum(axis=1) == 2).all()
    np.testing.assert_array_equal(x[3], [0, 0, 1, 0, 1, 0, 0, 0])  # " green " is unknown


def test_numbers_from_json_read_as_their_text():
    pipe = _pipeline()
    rows = [{"colour": 1, "size": 3.0, "label": "a"}, {"colour": 1, "size": 3, "label": "b"}]
    pipe.adapt(rows)
    assert pipe.specs["cat"].categories == [["1"], ["3", "3.0"]]


def test_an_all_empty_row_is_absent_only_with_allow_missing():
    rows = [{**r, "note": "hi"} for r in [*ROWS, {"colour": "", "size": " ", "label": "a"}]]
    pipe = _pipeline(allow_missing=False)
    pipe.adapt(ROWS)
    # The only input of the row says nothing: the row cannot be used.
    assert pipe.validate(rows).counts == {"value_missing": 1}
    with_text = mk.data.Pipeline(
        schema={"cat": ["colour", "size"], "text": "note", "label": "label"},
        specs={"cat": mk.data.CategoricalSpec()},
        text=mk.data.TextSpec(max_length=2),
        allow_missing=True,
    )
    with_text.adapt(rows)
    inputs = _batch(with_text, rows)
    np.testing.assert_array_equal(inputs["present"].numpy()[:, 0], [1, 1, 1, 1, 1, 1, 0])
    # Decoded all the same: the missing slot of each column.
    np.testing.assert_array_equal(inputs["cat"].numpy()[6], [0, 0, 0, 0, 1, 0, 0, 0, 0, 1])


def test_save_and_load_give_identical_batches(tmp_path):
    pipe = _pipeline()
    pipe.adapt(ROWS)
    pipe.save(str(tmp_path / "pipe"))
    loaded = mk.data.Pipeline.load(str(tmp_path / "pipe"))
    assert loaded.specs["cat"].categories == pipe.specs["cat"].categories
    assert loaded.specs["cat"].get_config() == {"max_categories": 50, "min_count": 1}
    np.testing.assert_array_equal(_batch(loaded, ROWS)["cat"], _batch(pipe, ROWS)["cat"])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_categories": 0}, "`max_categories` must be a positive integer"),
        ({"max_categories": 2.5}, "`max_categories` must be a positive integer"),
        ({"min_count": True}, "`min_count` must be a positive integer"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mk.data.CategoricalSpec(**kwargs)


def test_a_categorical_input_needs_a_list_of_columns_and_adapt():
    with pytest.raises(ValueError, match="a list of columns is for a multi-column spec"):
        mk.data.Pipeline(
            schema={"cat": "colour", "label": "label"}, specs={"cat": mk.data.CategoricalSpec()}
        )
    with pytest.raises(ValueError, match="call `pipe.adapt"):
        _pipeline().input_specs()
