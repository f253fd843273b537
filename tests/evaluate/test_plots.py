import struct

import numpy as np
import pytest

from mmkeras.evaluate import (
    plot_confusion_matrix,
    plot_learning_curves,
    plot_precision_recall_curves,
    plot_roc_curves,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _assert_png(path, min_width=300, min_height=200):
    data = open(path, "rb").read()
    assert data[:8] == PNG_SIGNATURE
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    assert width > min_width and height > min_height
    import matplotlib.image

    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (height, width)
    assert pixels.std() > 0.01  # something was drawn


def _write_log(path, rows):
    lines = ["epoch,accuracy,learning_rate,loss,val_accuracy,val_loss"]
    lines += [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")


def test_learning_curves_from_a_csv_log(tmp_path):
    log = tmp_path / "log.csv"
    _write_log(
        log,
        [
            (e, 0.5 + 0.1 * e, 0.001, 1.0 / (e + 1), 0.45 + 0.08 * e, 1.2 / (e + 1))
            for e in range(5)
        ],
    )
    path = plot_learning_curves(log)
    assert path == str(tmp_path / "learning_curves.png")
    _assert_png(path)
    chosen = plot_learning_curves(log, tmp_path / "loss.png", metrics=["loss"])
    _assert_png(chosen)
    with pytest.raises(ValueError, match="does not have"):
        plot_learning_curves(log, tmp_path / "x.png", metrics=["f1"])


def test_learning_curves_reject_an_empty_log(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("epoch,loss\n")
    with pytest.raises(ValueError, match="no rows"):
        plot_learning_curves(log)


def test_confusion_matrix_plot(tmp_path):
    matrix = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 0]])
    names = ["airplane", "automobile", "bird"]
    _assert_png(plot_confusion_matrix(matrix, tmp_path / "cm.png", labels=names))
    _assert_png(plot_confusion_matrix(matrix, tmp_path / "cmn.png", labels=names, normalize=True))
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(np.zeros((2, 3)), tmp_path / "bad.png")


def test_roc_and_precision_recall_curves(tmp_path, rng):
    y = rng.choice([0, 1, 3], size=80)  # class 2 absent: listed, not drawn
    scores = rng.dirichlet(np.ones(4), size=80) + 0.5 * np.eye(4)[y]
    names = ["cat", "dog", "fox", "owl"]
    _assert_png(plot_roc_curves(y, scores, tmp_path / "roc.png", labels=names))
    _assert_png(plot_precision_recall_curves(y, scores, tmp_path / "pr.png", labels=names))
    multi_hot = (rng.random((60, 3)) < 0.5).astype(float)
    _assert_png(plot_roc_curves(multi_hot, rng.random((60, 3)), tmp_path / "roc_ml.png"))
    binary = rng.integers(0, 2, size=30)
    _assert_png(plot_precision_recall_curves(binary, rng.random(30), tmp_path / "pr_bin.png"))
