"""Missing values are data: imputed tabular gaps and empty texts (`impute`, `allow_empty`)."""

import math

import numpy as np
import pytest
import tensorflow as tf
from pretrained_golden import golden_dir

import mmkeras as mk

TRAIN = [
    {"a": "1", "b": "", "label": "p"},
    {"a": "", "b": "4", "label": "n"},
    {"a": "3", "b": "6", "label": "p"},
    {"a": "5", "b": "nan", "label": "n"},
]


def _tabular(impute=True, normalize=False, allow_missing=False):
    return mk.data.Pipeline(
        schema={"x": ["a", "b"], "label": "label"},
        specs={"x": mk.data.TabularSpec(normalize=normalize, impute=impute)},
        allow_missing=allow_missing,
    )


def _batch(pipe, rows, name="x"):
    inputs, _ = next(iter(pipe.dataset(rows, batch_size=len(rows), verbose=False)))
    return inputs[name].numpy()


def test_rows_with_gaps_get_the_training_mean_and_an_indicator():
    pipe = _tabular()
    report = pipe.adapt(TRAIN)
    assert report.num_bad_rows == 0
    mean, std = pipe.tabular_stats("x")
    np.testing.assert_allclose(mean, [3.0, 5.0])  # over the rows that have the value
    np.testing.assert_allclose(std, [np.std([1, 3, 5]), 1.0])
    assert pipe.input_specs()["x"]["shape"] == (4,) and pipe.num_features("x") == 4
    np.testing.assert_array_equal(
        _batch(pipe, TRAIN),
        [[1, 5, 0, 1], [3, 4, 1, 0], [3, 6, 0, 0], [5, 5, 0, 1]],
    )


def test_the_means_come_from_the_training_rows_only():
    pipe = _tabular()
    pipe.adapt(TRAIN)
    other = [{"a": "100", "b": "", "label": "p"}, {"a": "", "b": "-50", "label": "n"}]
    np.testing.assert_array_equal(_batch(pipe, other), [[100, 5, 0, 1], [3, -50, 1, 0]])
    # The same numbers in the graph an export runs: NaN is the gap.
    out = pipe.preprocess({"x": tf.constant([[math.nan, math.nan]])})["x"].numpy()
    np.testing.assert_array_equal(out, [[3, 5, 1, 1]])


def test_without_impute_a_gap_is_still_a_bad_row():
    pipe = _tabular(impute=False)
    report = pipe.validate(TRAIN)
    assert report.counts == {"value_missing": 2, "tabular_not_finite": 1}


def test_infinities_and_text_stay_bad_rows_with_impute():
    pipe = _tabular()
    rows = TRAIN + [{"a": "inf", "b": "1", "label": "p"}, {"a": "1", "b": "ten", "label": "n"}]
    report = pipe.validate(rows)
    assert report.counts == {"tabular_not_finite": 1, "tabular_not_numeric": 1}
    assert sorted(p.row for p in report.problems) == [4, 5]


def test_imputed_values_are_normalized_with_the_training_statistics():
    pipe = _tabular(normalize=True)
    pipe.adapt(TRAIN)
    x = _batch(pipe, TRAIN)
    mean, std = pipe.tabular_stats("x")
    np.testing.assert_allclose(x[0, :2], [(1 - mean[0]) / std[0], 0.0], atol=1e-6)
    np.testing.assert_array_equal(x[:, 2:], [[0, 1], [1, 0], [0, 0], [0, 1]])
    # The features the model sees are centred; the indicators' means are the missing rates.
    feature_mean, _ = pipe.feature_stats("x")
    np.testing.assert_allclose(feature_mean, [0, 0, 0.25, 0.5])
    np.testing.assert_allclose(feature_mean[:2], x[:, :2].mean(axis=0), atol=1e-6)


def test_an_empty_row_is_absent_with_allow_missing():
    pipe = mk.data.Pipeline(
        schema={"x": ["a", "b"], "text": "t", "label": "label"},
        specs={"x": mk.data.TabularSpec(impute=True)},
        text=mk.data.TextSpec(max_length=2),
        allow_missing=True,
    )
    rows = [{**r, "t": "hi"} for r in [*TRAIN, {"a": "", "b": "", "label": "p"}]]
    pipe.adapt(rows)
    inputs, _ = next(iter(pipe.dataset(rows, batch_size=5, verbose=False)))
    np.testing.assert_array_equal(inputs["present"].numpy()[:, 0], [1, 1, 1, 1, 0])
    np.testing.assert_array_equal(inputs["x"].numpy()[4], [3, 5, 1, 1])


def test_imputation_survives_save_and_load(tmp_path):
    pipe = _tabular()
    pipe.adapt(TRAIN)
    pipe.save(str(tmp_path / "pipe"))
    loaded = mk.data.Pipeline.load(str(tmp_path / "pipe"))
    assert loaded.specs["x"].impute
    np.testing.assert_array_equal(_batch(loaded, TRAIN), _batch(pipe, TRAIN))
    for a, b in zip(loaded.feature_stats("x"), pipe.feature_stats("x"), strict=True):
        np.testing.assert_array_equal(a, b)


def test_impute_must_be_a_bool():
    with pytest.raises(
        ValueError, match="TabularSpec: `impute` must be a bool; received impute='yes'"
    ):
        mk.data.TabularSpec(impute="yes")


# === Empty texts ===

TEXTS = [
    {"t": "the cat sat", "label": "p"},
    {"t": "", "label": "n"},
    {"t": "   ", "label": "p"},
    {"t": "the dog", "label": "n"},
]


def _wordpiece_vocab(tmp_path):
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "dog", "sat"]
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return str(path)


def _text_spec(kind, tmp_path, **kwargs):
    if kind == "wordpiece":
        return mk.data.TextSpec(
            tokenizer="wordpiece", vocab=_wordpiece_vocab(tmp_path), max_length=5, **kwargs
        )
    if kind == "pretrained":  # a tiny RoBERTa checkpoint: <s> = 0, </s> = 2, <pad> = 1
        return mk.data.TextSpec.from_pretrained(golden_dir("roberta"), max_length=5, **kwargs)
    if kind == "character":
        return mk.data.TextSpec(split="character", max_length=5, **kwargs)
    return mk.data.TextSpec(max_length=5, **kwargs)


@pytest.mark.parametrize("kind", ["word", "character", "wordpiece", "pretrained"])
def test_empty_text_is_valid_text_with_allow_empty(kind, tmp_path):
    pipe = mk.data.Pipeline(
        schema={"t": "t", "label": "label"},
        specs={"t": _text_spec(kind, tmp_path, allow_empty=True)},
        allow_missing=True,
    )
    assert pipe.adapt(TEXTS).num_bad_rows == 0
    inputs, _ = next(iter(pipe.dataset(TEXTS, batch_size=4, verbose=False)))
    ids = inputs["t"].numpy()
    empty = pipe.preprocess({"t": tf.constant([""])})["t"].numpy()[0]
    # Empty and whitespace-only texts are the tokens of no text: padding (and [CLS] [SEP]).
    np.testing.assert_array_equal(ids[1], empty)
    np.testing.assert_array_equal(ids[2], empty)
    expected = {"wordpiece": [2, 3, 0, 0, 0], "pretrained": [0, 2, 1, 1, 1]}
    np.testing.assert_array_equal(empty, expected.get(kind, [0, 0, 0, 0, 0]))
    assert (ids[0] != empty).any()
    # Text, not an absent input.
    np.testing.assert_array_equal(inputs["present"].numpy()[:, 0], [1, 1, 1, 1])


@pytest.mark.parametrize("kind", ["word", "wordpiece"])
def test_empty_text_is_refused_without_allow_empty(kind, tmp_path):
    pipe = mk.data.Pipeline(
        schema={"t": "t", "label": "label"}, specs={"t": _text_spec(kind, tmp_path)}
    )
    report = pipe.validate(TEXTS)
    assert report.counts == {"text_empty": 2}
    assert sorted(p.row for p in report.problems) == [1, 2]


def test_an_empty_text_file_is_valid_with_allow_empty(tmp_path):
    (tmp_path / "a.txt").write_text("the cat", encoding="utf-8")
    (tmp_path / "b.txt").write_text("  \n", encoding="utf-8")
    rows = [{"t": "a.txt", "label": "p"}, {"t": "b.txt", "label": "n"}]
    strict = mk.data.Pipeline(
        schema={"text": "t", "label": "label"},
        text=mk.data.TextSpec(source="file", max_length=3),
        root=str(tmp_path),
    )
    assert strict.validate(
        rows,
    ).counts == {"text_empty": 1}
    pipe = mk.data.Pipeline(
        schema={"text": "t", "label": "label"},
        text=mk.data.TextSpec(source="file", max_length=3, allow_empty=True),
        root=str(tmp_path),
    )
    pipe.adapt(rows)
    inputs, _ = next(iter(pipe.dataset(rows, batch_size=2, verbose=False)))
    np.testing.assert_array_equal(inputs["text"].numpy()[1], [0, 0, 0])


def test_allow_empty_is_saved_with_the_pipeline(tmp_path):
    pipe = mk.data.Pipeline(
        schema={"text": "t", "label": "label"}, text=mk.data.TextSpec(allow_empty=True)
    )
    pipe.adapt(TEXTS)
    pipe.save(str(tmp_path / "pipe"))
    loaded = mk.data.Pipeline.load(str(tmp_path / "pipe"))
    assert loaded.specs["text"].allow_empty
    assert loaded.validate(TEXTS).num_bad_rows == 0
    with pytest.raises(ValueError, match="`allow_empty` must be a bool"):
        mk.data.TextSpec(allow_empty=1)
