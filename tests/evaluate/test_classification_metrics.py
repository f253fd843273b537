import numpy as np
import pytest
from sklearn import metrics as skm

from mmkeras.evaluate import (
    average_precision,
    classification_metrics,
    confusion_matrix,
    precision_recall_curve,
    roc_auc,
    roc_curve,
    top_k_accuracy,
)


def _probabilities(rng, n, c):
    logits = rng.normal(size=(n, c))
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def _check_against_sklearn(y_true, probs):
    c = probs.shape[1]
    result = classification_metrics(y_true, probs)
    m = result["metrics"]
    y_pred = probs.argmax(axis=1)
    labels = np.arange(c)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred))
    for average in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=average, zero_division=0
        )
        assert m[f"precision_{average}"] == pytest.approx(p)
        assert m[f"recall_{average}"] == pytest.approx(r)
        assert m[f"f1_{average}"] == pytest.approx(f)
    p, r, f, s = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0
    )
    per_class = result["per_class"]
    np.testing.assert_allclose([d["precision"] for d in per_class], p)
    np.testing.assert_allclose([d["recall"] for d in per_class], r)
    np.testing.assert_allclose([d["f1"] for d in per_class], f)
    np.testing.assert_array_equal([d["support"] for d in per_class], s)
    np.testing.assert_array_equal(
        result["confusion_matrix"], skm.confusion_matrix(y_true, y_pred, labels=labels)
    )
    for k in (3, 5):
        if c > k:
            assert m[f"top_{k}_accuracy"] == pytest.approx(
                skm.top_k_accuracy_score(y_true, probs, k=k, labels=labels)
            )
        else:
            assert f"top_{k}_accuracy" not in m
    return result


def test_metrics_match_sklearn_on_random_predictions(rng):
    y_true = rng.integers(0, 6, size=300)
    probs = _probabilities(rng, 300, 6)
    result = _check_against_sklearn(y_true, probs)
    m = result["metrics"]
    assert m["roc_auc_macro"] == pytest.approx(
        skm.roc_auc_score(y_true, probs, multi_class="ovr", average="macro")
    )
    assert m["roc_auc_weighted"] == pytest.approx(
        skm.roc_auc_score(y_true, probs, multi_class="ovr", average="weighted")
    )
    one_hot = np.eye(6)[y_true]
    assert m["pr_auc_macro"] == pytest.approx(
        skm.average_precision_score(one_hot, probs, average="macro")
    )
    assert m["pr_auc_weighted"] == pytest.approx(
        skm.average_precision_score(one_hot, probs, average="weighted")
    )
    per_class_auc = [d["roc_auc"] for d in result["per_class"]]
    np.testing.assert_allclose(
        per_class_auc, [skm.roc_auc_score(one_hot[:, c], probs[:, c]) for c in range(6)]
    )


def test_informative_predictions_score_high(rng):
    y_true = rng.integers(0, 4, size=200)
    probs = 0.3 * _probabilities(rng, 200, 4) + 0.7 * np.eye(4)[y_true]
    m = _check_against_sklearn(y_true, probs)["metrics"]
    assert m["accuracy"] == 1.0
    assert m["roc_auc_macro"] == 1.0
    assert m["pr_auc_macro"] == 1.0


def test_class_never_predicted_gets_zero_precision(rng):
    y_true = rng.integers(0, 3, size=60)
    probs = _probabilities(rng, 60, 3)
    probs[:, 2] = 0.0  # class 2 is never the argmax
    probs /= probs.sum(axis=1, keepdims=True)
    result = _check_against_sklearn(y_true, probs)
    assert result["per_class"][2]["precision"] == 0.0
    assert result["per_class"][2]["recall"] == 0.0
    assert result["per_class"][2]["support"] == np.sum(y_true == 2)


def test_class_absent_from_targets_has_nan_auc_skipped_in_macro(rng):
    y_true = rng.choice([0, 1, 3], size=120)  # class 2 never occurs
    probs = _probabilities(rng, 120, 4)
    result = _check_against_sklearn(y_true, probs)
    absent = result["per_class"][2]
    assert np.isnan(absent["roc_auc"]) and np.isnan(absent["pr_auc"])
    assert absent["support"] == 0 and absent["recall"] == 0.0
    one_hot = np.eye(4)[y_true]
    present = [0, 1, 3]
    expected_auc = np.mean([skm.roc_auc_score(one_hot[:, c], probs[:, c]) for c in present])
    expected_ap = np.mean(
        [skm.average_precision_score(one_hot[:, c], probs[:, c]) for c in present]
    )
    assert result["metrics"]["roc_auc_macro"] == pytest.approx(expected_auc)
    assert result["metrics"]["pr_auc_macro"] == pytest.approx(expected_ap)
    # Weighted by support, the absent class has no weight: sklearn's weighted OvR AUC agrees.
    assert result["metrics"]["roc_auc_weighted"] == pytest.approx(
        np.average(
            [skm.roc_auc_score(one_hot[:, c], probs[:, c]) for c in present],
            weights=[np.sum(y_true == c) for c in present],
        )
    )


def test_binary_curves_with_ties_match_sklearn(rng):
    y = rng.integers(0, 2, size=200)
    scores = np.round(rng.random(200) + 0.3 * y, 1)  # many ties
    assert roc_auc(y, scores) == pytest.approx(skm.roc_auc_score(y, scores))
    assert average_precision(y, scores) == pytest.approx(skm.average_precision_score(y, scores))
    assert np.isnan(roc_auc(np.zeros(5), np.arange(5)))
    assert np.isnan(average_precision(np.zeros(5), np.arange(5)))
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    precision, recall, _ = precision_recall_curve(y, scores)
    sk_precision, sk_recall, _ = skm.precision_recall_curve(y, scores)
    # scikit-learn lists the points from the lowest threshold up, appends (recall 0, precision 1),
    # and keeps thresholds below the first one reaching full recall, which are left out here.
    sk_precision, sk_recall = sk_precision[:-1][::-1], sk_recall[:-1][::-1]
    assert recall[-1] == 1.0 and recall[-2] < 1.0
    np.testing.assert_allclose(precision, sk_precision[: precision.size])
    np.testing.assert_allclose(recall, sk_recall[: recall.size])
    fpr, tpr, _ = roc_curve(y, scores)
    sk_fpr, sk_tpr, _ = skm.roc_curve(y, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)


def test_confusion_matrix_and_top_k():
    np.testing.assert_array_equal(
        confusion_matrix([0, 1, 1], [0, 0, 1], 3), [[1, 0, 0], [1, 1, 0], [0, 0, 0]]
    )
    scores = np.array([[0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]])
    assert top_k_accuracy([0, 0], scores, k=3) == 0.5
    assert top_k_accuracy([0, 0], scores, k=4) == 1.0


def test_out_of_range_class_index_is_an_error():
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        classification_metrics([0, 2], np.full((2, 2), 0.5))
