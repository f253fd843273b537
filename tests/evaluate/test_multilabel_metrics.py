import numpy as np
import pytest
from sklearn import metrics as skm

from mmkeras.evaluate import multilabel_metrics


def test_multilabel_metrics_match_sklearn(rng):
    y_true = (rng.random((150, 5)) < 0.4).astype(float)
    y_true[:, 4] = 0  # a label that never occurs
    probs = np.clip(0.5 * y_true + 0.6 * rng.random((150, 5)), 0, 1)
    result = multilabel_metrics(y_true, probs, threshold=0.5)
    m = result["metrics"]
    y_pred = (probs >= 0.5).astype(int)
    assert m["subset_accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert m["hamming_loss"] == pytest.approx(skm.hamming_loss(y_true, y_pred))
    for average in ("micro", "macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(
            y_true, y_pred, average=average, zero_division=0
        )
        assert m[f"precision_{average}"] == pytest.approx(p)
        assert m[f"recall_{average}"] == pytest.approx(r)
        assert m[f"f1_{average}"] == pytest.approx(f)
    assert m["roc_auc_micro"] == pytest.approx(skm.roc_auc_score(y_true, probs, average="micro"))
    assert m["pr_auc_micro"] == pytest.approx(
        skm.average_precision_score(y_true, probs, average="micro")
    )
    defined = slice(0, 4)
    assert m["roc_auc_macro"] == pytest.approx(
        skm.roc_auc_score(y_true[:, defined], probs[:, defined], average="macro")
    )
    assert m["pr_auc_macro"] == pytest.approx(
        skm.average_precision_score(y_true[:, defined], probs[:, defined], average="macro")
    )
    per_label = result["per_label"]
    assert np.isnan(per_label[4]["roc_auc"]) and np.isnan(per_label[4]["pr_auc"])
    np.testing.assert_array_equal([d["support"] for d in per_label], y_true.sum(axis=0))


def test_threshold_changes_predictions():
    y_true = np.array([[1, 0], [0, 1]])
    probs = np.array([[0.4, 0.1], [0.2, 0.45]])
    assert multilabel_metrics(y_true, probs, threshold=0.5)["metrics"]["recall_micro"] == 0.0
    assert multilabel_metrics(y_true, probs, threshold=0.3)["metrics"]["subset_accuracy"] == 1.0
