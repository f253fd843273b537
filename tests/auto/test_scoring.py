"""Tuning scores and greedy ensemble selection."""

import numpy as np
import pytest

from mmkeras.auto.scoring import greedy_ensemble, score


def test_scores_per_problem_type():
    assert score("multiclass", [0, 2, 1], [[0.9, 0, 0.1], [0.1, 0.2, 0.7], [0.5, 0.4, 0.1]]) == (
        pytest.approx(2 / 3)
    )
    assert score("binary", [1, 0], [[0.8], [0.6]]) == 0.5  # one sigmoid unit
    assert score("regression", [1.0, 3.0], [[2.0], [3.0]]) == pytest.approx(-np.sqrt(0.5))
    assert score("multi_label", [[1, 0], [0, 1]], [[0.9, 0.1], [0.9, 0.9]]) == 0.75


def test_greedy_selection_combines_complementary_models():
    targets = np.array([0, 0, 1, 1])
    # a is right on the first three rows, b on the last three; together right on all.
    a = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6], [0.55, 0.45]])
    b = np.array([[0.45, 0.55], [0.8, 0.2], [0.3, 0.7], [0.1, 0.9]])
    bad = np.array([[0.1, 0.9], [0.1, 0.9], [0.9, 0.1], [0.9, 0.1]])
    weights, value = greedy_ensemble("binary", targets, {"a": a, "b": b, "bad": bad})
    assert value == 1.0
    assert set(weights) == {"a", "b"}
    assert sum(weights.values()) == pytest.approx(1.0)


def test_greedy_selection_keeps_one_model_when_nothing_helps():
    targets = np.array([0, 1])
    good = np.array([[0.9, 0.1], [0.1, 0.9]])
    weights, value = greedy_ensemble("binary", targets, {"good": good, "bad": 1 - good})
    assert weights == {"good": 1.0} and value == 1.0
