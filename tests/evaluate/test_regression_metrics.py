import numpy as np
import pytest
from sklearn import metrics as skm

from mmkeras.evaluate import regression_metrics


def test_regression_metrics_match_sklearn(rng):
    y_true = rng.normal(size=(80, 3))
    y_pred = y_true + rng.normal(scale=0.5, size=(80, 3))
    result = regression_metrics(y_true, y_pred)
    m = result["metrics"]
    assert m["mse"] == pytest.approx(skm.mean_squared_error(y_true, y_pred))
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(y_true, y_pred))
    assert m["r2"] == pytest.approx(skm.r2_score(y_true, y_pred))
    assert m["rmse"] == pytest.approx(skm.root_mean_squared_error(y_true, y_pred))
    r2_each = skm.r2_score(y_true, y_pred, multioutput="raw_values")
    np.testing.assert_allclose([d["r2"] for d in result["per_output"]], r2_each)


def test_column_targets_against_flat_and_constant_targets():
    m = regression_metrics([1.0, 2.0, 3.0], np.array([[1.0], [2.0], [4.0]]))["metrics"]
    assert m["mse"] == pytest.approx(1 / 3)
    assert m["r2"] == pytest.approx(0.5)
    # R2 is undefined for constant targets.
    assert np.isnan(regression_metrics([2.0, 2.0], [2.0, 3.0])["metrics"]["r2"])
