"""Serving heads turn model outputs into probabilities, label strings and values."""

import numpy as np
import pytest

from mmkeras.export import ServingHead


def test_classification_label_is_the_argmax_class_name():
    head = ServingHead("label", "classification", ["cat", "dog", "bird"])
    out = head.outputs(np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]], np.float32))
    assert [s.decode() for s in out["label"].numpy()] == ["dog", "cat"]
    assert head.output_names == ["probabilities", "label"]


def test_binary_threshold_and_multi_task_prefix():
    head = ServingHead("spam", "binary", ["no", "yes"], prefix="spam_", threshold=0.5)
    out = head.outputs(np.array([[0.2], [0.5], [0.9]], np.float32))
    assert [s.decode() for s in out["spam_label"].numpy()] == ["no", "yes", "yes"]
    assert out["spam_probabilities"].shape == (3, 1)


def test_multilabel_joins_the_names_above_threshold():
    head = ServingHead("tags", "multilabel", ["a", "b", "c"], threshold=0.5, separator="|")
    out = head.outputs(np.array([[0.9, 0.1, 0.6], [0.1, 0.2, 0.3]], np.float32))
    assert [s.decode() for s in out["labels"].numpy()] == ["a|c", ""]


def test_regression_values_and_round_trip_of_the_description():
    head = ServingHead("age", "regression", prefix="age_")
    out = head.outputs(np.array([[1.5], [2.0]], np.float32))
    np.testing.assert_allclose(out["age_values"].numpy(), [[1.5], [2.0]])
    again = ServingHead.from_description(head.describe())
    assert again.output_names == ["age_values"] and again.prefix == "age_"


def test_invalid_arguments_are_named():
    with pytest.raises(ValueError, match="kind"):
        ServingHead("x", "ranking", ["a"])
    with pytest.raises(ValueError, match="class_names"):
        ServingHead("x", "classification")
