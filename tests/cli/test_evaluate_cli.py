"""`mmkeras evaluate RUN_DIR`: plots as PNG files, unusable rows, and no spurious warnings."""

import csv
import logging
import os
import struct
import warnings

import pytest
from tabular_data import tabular_run_config, write_tabular

from mmkeras.cli import main

# Messages that Keras / TensorFlow print when they are called wrongly, not when data is bad.
SPURIOUS = ("ran out of data", "retracing", "will be ignored")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small tabular run (inputs a, b, c; label neg / pos), trained once for this module."""
    from mmkeras.config import from_dict
    from mmkeras.train import fit

    folder = tmp_path_factory.mktemp("evaluate")
    write_tabular(folder / "train.csv", 64, seed=1)
    write_tabular(folder / "val.csv", 30, seed=2)
    config = tabular_run_config(folder)
    run = fit(from_dict(config, base_dir=str(folder)), verbose=False)
    return folder, str(run.run_dir)


def _png_size(path):
    """(width, height) from a PNG file's signature and IHDR chunk; fails on anything else."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG file"
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def test_plots_are_written_as_png_files(trained, capsys):
    folder, run_dir = trained
    plots = folder / "plots"
    assert (
        main(["evaluate", run_dir, "--data", str(folder / "val.csv"), "--plots", str(plots)]) == 0
    )
    out = capsys.readouterr().out
    names = [
        "label_confusion_matrix.png",
        "label_confusion_matrix_normalized.png",
        "label_roc.png",
        "label_precision_recall.png",
        "learning_curves.png",
    ]
    assert f"wrote {len(names)} plots to {plots}" in out
    for name in names:
        path = plots / name
        assert str(path) in out
        width, height = _png_size(path)
        assert width > 100 and height > 100


def test_plots_default_to_the_run_directory(trained, capsys):
    folder, run_dir = trained
    assert main(["evaluate", run_dir, "--plots"]) == 0  # the run's validation set
    assert os.path.join(run_dir, "plots") in capsys.readouterr().out
    _png_size(os.path.join(run_dir, "plots", "label_roc.png"))


def _manifest_with_a_bad_row(folder):
    with open(folder / "val.csv", newline="") as f:
        rows = list(csv.reader(f))
    rows[3][0] = "not a number"
    path = folder / "val_bad.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return str(path), len(rows) - 1


def test_unusable_rows_are_listed_and_left_out(trained, capsys):
    folder, run_dir = trained
    data, num_rows = _manifest_with_a_bad_row(folder)
    report = folder / "report.json"
    assert main(["evaluate", run_dir, "--data", data, "--out", str(report)]) == 0
    out = capsys.readouterr().out
    assert f"1 of {num_rows} rows cannot be used" in out and "row 2 [x]" in out
    assert f'"num_samples": {num_rows - 1}' in report.read_text()
    assert main(["evaluate", run_dir, "--data", data, "--errors", "raise"]) == 1
    assert "--errors skip" in capsys.readouterr().err


def test_evaluate_and_predict_print_no_spurious_warnings(trained, capfd, caplog):
    """No "input ran out of data", no retracing, no "shuffle ... will be ignored".

    Keras warns "ran out of data" when `predict` gets a dataset of unknown length (the pipeline
    skipping bad rows); TensorFlow warns about retracing when every run's last, smaller batch
    traced the predict step again. Several runs are evaluated with a batch size that leaves a
    smaller last batch, as a user comparing runs would.
    """
    folder, run_dir = trained
    data, _ = _manifest_with_a_bad_row(folder)
    out = folder / "pred.csv"
    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            assert main(["evaluate", run_dir, "--data", data, "--batch-size", "8"]) == 0
        for _ in range(2):
            assert main(["predict", run_dir, data, "--out", str(out), "--batch-size", "8"]) == 0
    captured = capfd.readouterr()
    text = "\n".join(
        [captured.out, captured.err, caplog.text, *(str(w.message) for w in caught)]
    ).lower()
    for message in SPURIOUS:
        assert message not in text, message
