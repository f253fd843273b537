import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn import metrics as skm

import mmkeras as mk
from mmkeras.evaluate import Report


def _classifier(num_classes=3):
    inputs = keras.Input((4,), name="x")
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="label")(inputs)
    return keras.Model(inputs, outputs)


def _data(rng, n=50, num_classes=3):
    x = rng.normal(size=(n, 4)).astype("float32")
    y = rng.integers(0, num_classes, size=n)
    return x, y


def test_report_on_a_dataset_matches_sklearn(rng):
    model = _classifier()
    x, y = _data(rng)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    result = mk.evaluate.report(model, ds, labels=["cat", "dog", "fox"])
    section = result["label"]
    probs = model.predict(x, verbose=0)
    assert section["task"] == "classification" and section["num_samples"] == 50
    assert section["metrics"]["accuracy"] == pytest.approx(skm.accuracy_score(y, probs.argmax(1)))
    assert section["metrics"]["roc_auc_macro"] == pytest.approx(
        skm.roc_auc_score(y, probs, multi_class="ovr"), abs=1e-6
    )
    assert list(section["per_class"]) == ["cat", "dog", "fox"]
    # The same numbers from a tuple of arrays.
    from_arrays = mk.evaluate.report(model, (x, y), labels=["cat", "dog", "fox"], batch_size=7)
    assert from_arrays["label"]["metrics"] == pytest.approx(section["metrics"])
    text = str(result)
    assert "accuracy" in text and "fox" in text and "confusion matrix" in text


def test_multi_task_model_gets_one_section_per_output(rng):
    inputs = keras.Input((4,), name="x")
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    model = keras.Model(
        inputs,
        {
            "label": keras.layers.Dense(3, activation="softmax", name="label")(hidden),
            "score": keras.layers.Dense(2, name="score")(hidden),
        },
    )
    x, y = _data(rng, n=40)
    s = rng.normal(size=(40, 2)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices((x, {"label": y, "score": s})).batch(8)
    result = mk.evaluate.report(model, ds, labels={"label": ["a", "b", "c"]})
    assert result["label"]["task"] == "classification"
    assert result["score"]["task"] == "regression"
    pred = model.predict(x, verbose=0)
    assert result["score"]["metrics"]["mse"] == pytest.approx(
        skm.mean_squared_error(s, pred["score"]), rel=1e-5
    )
    text = result.table()
    assert "label: classification" in text and "score: regression" in text
    with pytest.raises(ValueError, match="score"):
        mk.evaluate.report(model, (x, {"label": y}))


def test_task_inference_binary_logits_and_multilabel(rng):
    y = rng.integers(0, 2, size=30)
    p = rng.random(30)
    binary = Report.from_predictions(y, p[:, None])["output"]
    assert binary["task"] == "classification" and binary["labels"] == ["0", "1"]
    assert binary["metrics"]["roc_auc_macro"] == pytest.approx(skm.roc_auc_score(y, p))

    logits = rng.normal(size=(30, 3)) * 3
    y3 = rng.integers(0, 3, size=30)
    from_logits = Report.from_predictions(y3, logits)["output"]
    assert from_logits["from_logits"] is True
    assert from_logits["metrics"]["accuracy"] == pytest.approx(
        skm.accuracy_score(y3, logits.argmax(1))
    )

    multi_hot = (rng.random((30, 4)) < 0.5).astype(float)
    multi_hot[0] = [1, 1, 0, 0]
    multilabel = Report.from_predictions(multi_hot, rng.random((30, 4)))["output"]
    assert multilabel["task"] == "multilabel"
    forced = Report.from_predictions(y3.astype(float), logits[:, :1], task="regression")
    assert forced["output"]["task"] == "regression"


def test_to_json_is_valid_json_with_null_for_undefined_values(tmp_path, rng):
    y = np.array([0, 1, 0, 1, 0])  # class 2 never occurs: its AUCs are undefined
    probs = rng.dirichlet(np.ones(3), size=5)
    result = Report.from_predictions(y, probs, labels=["a", "b", "c"])
    path = tmp_path / "out" / "report.json"
    path.parent.mkdir()
    path.write_text("old")
    assert result.to_json(path) == os.fspath(path)
    loaded = json.loads(path.read_text())
    assert loaded["outputs"]["output"]["per_class"]["c"]["roc_auc"] is None
    assert loaded["outputs"]["output"]["confusion_matrix"] == result["output"]["confusion_matrix"]
    assert os.listdir(path.parent) == ["report.json"]  # no temporary file left behind
    assert "n/a" in result.table()


def test_save_plots_writes_the_classification_plots(tmp_path, rng):
    y = rng.integers(0, 3, size=40)
    result = Report.from_predictions(y, rng.dirichlet(np.ones(3), size=40))
    paths = result.save_plots(tmp_path)
    assert sorted(os.path.basename(p) for p in paths) == [
        "output_confusion_matrix.png",
        "output_confusion_matrix_normalized.png",
        "output_precision_recall.png",
        "output_roc.png",
    ]
    for p in paths:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_bad_arguments_are_explained(rng):
    y = rng.integers(0, 3, size=10)
    probs = rng.dirichlet(np.ones(3), size=10)
    with pytest.raises(ValueError, match="3 classes but `labels` has 2"):
        Report.from_predictions(y, probs, labels=["a", "b"])
    with pytest.raises(ValueError, match="Unknown task 'ranking'"):
        Report.from_predictions(y, probs, task="ranking")
    with pytest.raises(ValueError, match="no batch"):
        mk.evaluate.report(_classifier(), [])
