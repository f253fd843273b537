"""`mmkeras predict RUN_DIR DATA`: one output row per input row, with `id` and `error` columns."""

import csv

import numpy as np
import pytest
from tabular_data import tabular_run_config, write_tabular

from mmkeras.cli import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small tabular run (inputs a, b, c; label neg / pos), trained once for this module."""
    from mmkeras.config import from_dict
    from mmkeras.train import fit

    folder = tmp_path_factory.mktemp("predict")
    write_tabular(folder / "train.csv", 64, seed=1)
    config = tabular_run_config(folder, validation=None, epochs=1)
    run = fit(from_dict(config, base_dir=str(folder)), verbose=False)
    return folder, run


def _write(path, header, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_unusable_rows_keep_their_place_with_the_reason(trained, capsys):
    folder, run = trained
    rows = [
        ["s-1", "1.0", "2.0", "0.5"],
        ["s-2", "nan", "1", "2"],  # not finite
        ["s-3", "-3", "-1", "0"],
        ["s-4", "abc", "1", "2"],  # not a number
        ["s-5", "0.2", "-0.1", "1"],
    ]
    data = _write(folder / "new.csv", ["id", "a", "b", "c"], rows)
    out = folder / "pred.csv"
    assert main(["predict", str(run.run_dir), data, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "row 1: x: tabular_not_finite" in err and "row 3: x: tabular_not_numeric" in err
    assert "predicted 3 of 5 rows; 2 could not be used" in err

    got = _read(out)
    assert list(got[0]) == ["row", "id", "prob_neg", "prob_pos", "predicted", "error"]
    assert [r["row"] for r in got] == ["0", "1", "2", "3", "4"]
    assert [r["id"] for r in got] == ["s-1", "s-2", "s-3", "s-4", "s-5"]
    for r in (got[1], got[3]):
        assert r["prob_neg"] == r["prob_pos"] == r["predicted"] == ""
    assert "tabular_not_finite" in got[1]["error"] and "tabular_not_numeric" in got[3]["error"]

    # The usable rows hold the model's own predictions, in order.
    x = np.array([[1.0, 2.0, 0.5], [-3, -1, 0], [0.2, -0.1, 1]], dtype="float32")
    expected = run.model.predict({"x": x}, verbose=0)  # the branch standardises the features
    for r, probs in zip((got[0], got[2], got[4]), expected, strict=True):
        assert r["error"] == ""
        np.testing.assert_allclose([float(r["prob_neg"]), float(r["prob_pos"])], probs, atol=1e-5)
        assert r["predicted"] == ["neg", "pos"][int(np.argmax(probs))]


def test_without_an_id_column_the_id_is_the_row_number(trained, capsys):
    folder, run = trained
    data = _write(folder / "plain.csv", ["a", "b", "c"], [["1", "1", "1"], ["2", "2", "2"]])
    assert main(["predict", str(run.run_dir), data]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[:2] for line in lines[1:]] == [["0", "0"], ["1", "1"]]


def test_no_usable_row_exits_1_and_still_writes_every_row(trained, capsys):
    folder, run = trained
    data = _write(folder / "bad.csv", ["a", "b", "c"], [["nan", "1", "1"], ["", "", ""]])
    out = folder / "none.csv"
    assert main(["predict", str(run.run_dir), data, "--out", str(out)]) == 1
    assert "no row could be used" in capsys.readouterr().err
    got = _read(out)
    assert [r["row"] for r in got] == ["0", "1"]
    assert all(r["error"] and r["predicted"] == "" for r in got)


def test_validate_reads_a_manifest_with_the_runs_pipeline(trained, capsys):
    folder, run = trained
    data = _write(folder / "check.csv", ["a", "b", "c"], [["1", "1", "1"], ["x", "2", "2"]])
    assert main(["validate", data, "--schema", str(run.run_dir)]) == 1
    out = capsys.readouterr().out
    assert "2 rows, 1 unusable (tabular_not_numeric 1); no column for target(s) 'label'" in out
    assert "row 1: x: tabular_not_numeric" in out
    assert "target 'label': classification, 2 classes: neg, pos" in out


def test_id_is_the_first_file_path_when_there_is_no_id_column():
    from mmkeras.cli.predict import _row_ids
    from mmkeras.data import AudioSpec, ImageSpec, Pipeline, TextSpec

    pipe = Pipeline(
        schema={"text": "caption", "image": "photo", "audio": "clip", "label": "label"},
        image=ImageSpec(size=(8, 8)),
        audio=AudioSpec(sample_rate=8000, duration=0.1),
        text=TextSpec(tokenizer="word", max_length=4),
    )
    records = [
        {"caption": "hi", "photo": "a.png", "clip": "a.wav"},
        {"caption": "yo", "photo": "", "clip": "b.wav"},
    ]
    assert _row_ids(pipe, records) == ["a.png", "1"]
    assert _row_ids(pipe, [{**r, "id": f"k{i}"} for i, r in enumerate(records)]) == ["k0", "k1"]
