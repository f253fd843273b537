"""`mmkeras demo`: the quick variant end to end, its options, and how it states the result."""

import argparse
import json

import numpy as np
import pytest

from mmkeras.cli import UsageError, demo, demo_comparison

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _args(*argv):
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    return parser.parse_args(list(argv))


def _assert_png(path):
    import cv2

    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, path
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None and image.shape[0] > 100 and image.shape[1] > 100, path


@pytest.mark.slow
def test_quick_demo_writes_a_complete_run_directory(quick_demo):
    # `mmkeras demo --quick --seed 3`, run once for the suite (conftest.py).
    assert quick_demo.returncode == 0, quick_demo.stderr[-3000:]
    assert "Traceback" not in quick_demo.stderr, quick_demo.stderr[-3000:]
    out = quick_demo.run_dir
    assert out is not None and out.parent.name == "runs"
    printed = quick_demo.stdout

    results = json.loads((out / "results.json").read_text())
    assert results["quick"] and results["seed"] == 3 and results["epochs"] == demo.QUICK_EPOCHS
    rows = {row["name"]: row for row in results["models"]}
    assert set(rows) == {"text", "attention"}
    assert rows["text"]["kind"] == "single" and rows["attention"]["kind"] == "fused"
    for row in rows.values():
        assert 0.0 <= row["test_accuracy"] <= 1.0 and 1 <= row["best_epoch"] <= 2
    assert results["best_fused"] == "attention" and results["best_single"] == "text"
    margin = 100 * (rows["attention"]["test_accuracy"] - rows["text"]["test_accuracy"])
    assert results["fusion_margin_points"] == pytest.approx(margin, abs=0.01)
    assert results["verdict"] in printed

    table = (out / "results.txt").read_text()
    assert "test acc" in table and f"{100 * rows['text']['test_accuracy']:.1f}%" in table
    assert table.splitlines()[0] in printed

    report = json.loads((out / "report.json").read_text())["outputs"]
    assert report["label"]["labels"] == [str(d) for d in range(10)]
    accuracy = report["label"]["metrics"]["accuracy"]
    assert accuracy == pytest.approx(rows["attention"]["test_accuracy"], abs=1e-6)
    assert np.asarray(report["label"]["confusion_matrix"]).sum() == demo.QUICK_ROWS["test"]
    assert "accuracy" in (out / "report.txt").read_text()

    ablation = json.loads((out / "ablation.json").read_text())
    assert ablation["modalities"] == ["image", "audio", "text"]
    settings = {row["setting"]: row for row in ablation["rows"]}
    assert settings["all modalities"]["value"] == pytest.approx(accuracy, abs=1e-6)
    assert settings["without image"]["present"] == ["audio", "text"]
    assert set(settings["only text"]["attention"]) == {"image", "audio", "text"}
    assert "without image" in (out / "ablation.txt").read_text()

    plots = {p.name for p in (out / "plots").glob("*.png")}
    assert {"learning_curves.png", "label_confusion_matrix.png", "label_roc.png"} <= plots
    assert "label_precision_recall.png" in plots
    for path in [*(out / "plots").glob("*.png"), *(out / "models").glob("*/learning_curves.png")]:
        _assert_png(path)
    assert len(list((out / "models").glob("*/learning_curves.png"))) == 2

    try:
        from mmkeras.export import saved_model  # noqa: F401
    except ImportError:
        pytest.skip("mmkeras.export.saved_model is not available")
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (the tokenizer ops the SavedModel uses)

    from mmkeras.datasets import load_av_digits

    data = load_av_digits()
    row = data.rows("test")[0]
    serving = tf.saved_model.load(str(out / "export")).signatures["serving_default"]
    outputs = serving(
        image=tf.constant([(data.root / row["image"]).read_bytes()]),
        audio=tf.constant([(data.root / row["audio"]).read_bytes()]),
        text=tf.constant([row["text"]]),
    )
    probabilities = outputs["probabilities"].numpy()
    assert probabilities.shape == (1, 10)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-4)


def test_bad_options_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="--epochs"):
        demo.run(_args("--epochs", "0", "--out", str(tmp_path)))
    with pytest.raises(UsageError, match="--seed"):
        demo.run(_args("--seed", "-1", "--out", str(tmp_path)))
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(UsageError, match="not a directory"):
        demo.run(_args("--out", str(not_a_dir)))


def _row(name, test_accuracy, kind="fused"):
    return {"name": name, "kind": kind, "test_accuracy": test_accuracy}


def test_verdict_says_plainly_whether_fusion_helped():
    margin, text = demo_comparison.verdict(_row("gated", 0.9), _row("image", 0.7, "single"))
    assert margin == pytest.approx(20.0)
    assert "beats" in text and "20.0 points" in text and "NOT" not in text
    margin, text = demo_comparison.verdict(_row("gated", 0.6), _row("image", 0.7, "single"))
    assert margin == pytest.approx(-10.0)
    assert "does NOT beat" in text and "10.0 points below" in text


def test_every_model_is_the_shipped_demo_config_with_its_branches_and_fusion(tmp_path):
    from mmkeras.config import from_dict
    from mmkeras.datasets import load_av_digits

    data = load_av_digits()
    sources = {split: str(data.manifest(split)) for split in ("train", "validation", "test")}
    configs = demo.model_configs(demo.MODELS, 4, 7, sources, str(data.root), str(tmp_path))
    assert list(configs) == ["image", "audio", "text", "concat", "attention", "gated", "low_rank"]
    for name, modalities, fusion in demo.MODELS:
        config = from_dict(configs[name])
        assert config.name == name and config.seed == 7 and config.deterministic
        assert config.train.epochs == 4 and config.output_dir == str(tmp_path)
        assert list(config.model.branches) == list(modalities)
        assert config.model.fusion == fusion
        assert config.model.modality_dropout == (0.2 if len(modalities) > 1 else 0.0)
        assert config.callbacks.checkpoint.keep == "best"
        assert config.callbacks.checkpoint.monitor == "val_accuracy"
        assert config.data.train == sources["train"] and config.data.test is None
        assert sorted(k for k in config.data.schema_ if k != "label") == sorted(modalities)
