"""`mmkeras.export.load`: predictions on bytes, file paths and manifests from an export."""

import csv
import os

import numpy as np
import pytest

from tests.export.conftest import CLASSES, raw_batch


@pytest.fixture(scope="module")
def predictor(exported):
    import mmkeras as mk

    return mk.export.load(exported.path)


def _reference(exported):
    ds = exported.pipe.dataset(exported.manifest, training=False, batch_size=4)
    return exported.model.predict(ds.map(lambda x, y: x), verbose=0)


def test_paths_and_bytes_give_the_served_predictions(exported, predictor):
    rows = exported.rows
    by_path = predictor.predict(
        {
            "image": [r["image"] for r in rows],
            "text": [r["caption"] for r in rows],
            "audio": [r["audio"] for r in rows],
        },
        root=exported.root,
        batch_size=4,
    )
    by_bytes = predictor.predict(dict(raw_batch(exported.root, rows)))
    reference = _reference(exported)
    np.testing.assert_allclose(by_path["probabilities"], reference, atol=1e-5)
    np.testing.assert_allclose(by_bytes["probabilities"], reference, atol=1e-5)
    assert list(by_path["label"]) == [CLASSES[i] for i in reference.argmax(axis=1)]
    assert predictor.labels == CLASSES
    assert predictor.input_names == ["image", "text", "audio"]


def test_an_input_left_out_is_absent(exported, predictor):
    import tensorflow as tf

    raw = raw_batch(exported.root, exported.rows[:2])
    out = predictor.predict({"image": list(raw["image"]), "audio": list(raw["audio"])})
    inputs = exported.pipe.preprocess(
        {**{k: tf.constant(v) for k, v in raw.items()}, "text": tf.constant(["", ""])}
    )
    np.testing.assert_allclose(
        out["probabilities"], exported.model.predict(inputs, verbose=0), atol=1e-5
    )


def test_bad_arguments_are_explained(predictor):
    with pytest.raises(ValueError, match="unknown inputs"):
        predictor.predict({"video": [b"x"]})
    with pytest.raises(ValueError, match="different numbers"):
        predictor.predict({"text": ["a", "b"], "image": [b""]})


def test_manifest_reports_rows_it_cannot_serve(exported, predictor, tmp_path):
    rows = [dict(r) for r in exported.rows]
    with open(tmp_path / "broken.jpg", "wb") as f:
        f.write(b"this is not a JPEG")
    rows[1]["image"] = os.path.join(exported.root, "no_such_file.png")
    rows[3]["image"] = str(tmp_path / "broken.jpg")
    for r in rows:
        for key in ("image", "audio"):
            r[key] = os.path.join(exported.root, r[key])
    result = predictor.predict_manifest(rows, batch_size=4)
    assert result["rows"] == [0, 2, 4, 5]
    assert [row for row, _ in result["problems"]] == [1, 3]
    assert "No such file" in result["problems"][0][1]
    assert "JPEG, PNG, GIF or BMP" in result["problems"][1][1]
    reference = _reference(exported)
    np.testing.assert_allclose(
        result["outputs"]["probabilities"], reference[[0, 2, 4, 5]], atol=1e-5
    )


def test_predict_export_dir_writes_the_predict_csv(exported, tmp_path, capsys):
    import mmkeras as mk

    assert mk.export.is_export_dir(exported.path)
    assert not mk.export.is_export_dir(exported.root)
    out = tmp_path / "predictions.csv"
    code = mk.export.predict_export_dir(exported.path, exported.manifest, out=str(out))
    assert code == 0
    with open(out) as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == [
        "row", "id", "prob_bird", "prob_cat", "prob_dog", "predicted", "error"
    ]  # fmt: skip
    assert [r["id"] for r in table] == [r["image"] for r in exported.rows]
    assert all(r["error"] == "" for r in table)
    reference = _reference(exported)
    assert [r["predicted"] for r in table] == [CLASSES[i] for i in reference.argmax(axis=1)]
    np.testing.assert_allclose(
        [[float(r[f"prob_{c}"]) for c in CLASSES] for r in table], reference, atol=1e-5
    )
    assert "predicted 6 of 6 rows" in capsys.readouterr().err


def test_predict_export_dir_keeps_an_unusable_row_in_place(exported, tmp_path, capsys):
    import mmkeras as mk

    rows = [dict(r) for r in exported.rows]
    for r in rows:
        for key in ("image", "audio"):
            r[key] = os.path.join(exported.root, r[key])
    rows[2]["image"] = os.path.join(exported.root, "no_such_file.png")
    manifest = tmp_path / "bad.csv"
    with open(manifest, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "predictions.csv"
    assert mk.export.predict_export_dir(exported.path, str(manifest), out=str(out)) == 0
    with open(out) as f:
        table = list(csv.DictReader(f))
    assert [r["row"] for r in table] == [str(i) for i in range(len(rows))]
    assert table[2]["predicted"] == "" and "No such file" in table[2]["error"]
    assert table[2]["id"].endswith("no_such_file.png")
    assert all(r["predicted"] and not r["error"] for i, r in enumerate(table) if i != 2)
    err = capsys.readouterr().err
    assert "row 2:" in err and "1 could not be used" in err
