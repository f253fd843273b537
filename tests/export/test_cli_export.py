"""`mmkeras export` on a run directory: SavedModel and TFLite (with int8 compression)."""

import json
import os

import numpy as np
import pytest

from tests.export.conftest import raw_batch


@pytest.fixture
def main():
    from mmkeras import cli

    return cli.main


@pytest.fixture(scope="module")
def run_dir(exported, tmp_path_factory):
    """A finished run directory as `mmkeras train` leaves it (config, pipeline, model)."""
    run = tmp_path_factory.mktemp("runs") / "tiny"
    os.makedirs(run)
    exported.pipe.save(str(run / "pipeline"))
    exported.model.save(str(run / "model.keras"))
    config = f"""
name: tiny
data:
  train: {exported.manifest}
  validation: {exported.manifest}
  schema: {{image: image, text: caption, audio: audio, label: label}}
  image: {{size: [32, 32]}}
  text: {{max_length: 8, vocab_size: 50}}
  audio: {{sample_rate: 8000, duration: 0.25}}
  allow_missing: true
model:
  branches:
    image: {{kind: image_cnn, input_shape: [32, 32, 3], filters: [4], output_dim: 8}}
    text: {{kind: text_rnn, vocab_size: auto, embedding_dim: 8, units: 8, output_dim: 8}}
    audio: {{kind: audio_cnn, sample_rate: 8000, duration: 0.25, n_mels: 16, filters: [4],
             output_dim: 8}}
"""
    (run / "config.yaml").write_text(config)
    return str(run)


@pytest.mark.slow
def test_export_command_writes_a_saved_model(exported, run_dir, main, tmp_path, capsys):
    import tensorflow as tf

    out = tmp_path / "exported"
    assert main(["export", run_dir, str(out)]) == 0, capsys.readouterr().err
    assert "saved_model_cli show --dir" in capsys.readouterr().out
    fn = tf.saved_model.load(str(out)).signatures["serving_default"]
    raw = raw_batch(exported.root, exported.rows[:2])
    served = fn(**{k: tf.constant(v) for k, v in raw.items()})["probabilities"].numpy()
    expected = exported.serve(**raw)["probabilities"].numpy()
    np.testing.assert_allclose(served, expected, atol=1e-5)
    assert main(["export", run_dir, str(out), "--no-overwrite"]) == 2

    # `mmkeras predict` takes the export directory as well as a run directory.
    predictions = tmp_path / "predictions.csv"
    assert main(["predict", str(out), str(exported.manifest), "--out", str(predictions)]) == 0
    import csv

    with open(predictions, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(exported.rows)
    labels = set(exported.pipe.labels)
    assert all(row["predicted"] in labels for row in rows), rows[:2]


@pytest.mark.slow
def test_export_tflite_int8_reports_size_and_metric_change(run_dir, main, tmp_path, capsys):
    out = tmp_path / "tflite"
    assert main(["export", run_dir, str(out), "--format", "tflite", "--quantize", "int8"]) == 0
    printed = capsys.readouterr().out
    assert "unsupported ops" in printed and "tensor signature" in printed
    assert "float32" in printed and "int8" in printed and "accuracy" in printed
    with open(out / "tflite.json") as f:
        report = json.load(f)
    assert report["signature"] == "tensors"
    assert report["sizes_bytes"]["int8"] < report["sizes_bytes"]["float32"]
    assert report["metrics"]["float32"]["label"]["max_abs_diff"] < 1e-4
    assert report["metrics"]["int8"]["label"]["max_abs_diff"] < 0.2
    assert os.path.getsize(out / "model.tflite") == report["sizes_bytes"]["int8"]


@pytest.mark.slow
def test_raw_tflite_error_names_the_text_ops(exported):
    import mmkeras as mk

    with pytest.raises(mk.export.TFLiteConversionError) as info:
        mk.export.convert_tflite(exported.model, exported.pipe, signature="raw")
    message = str(info.value)
    assert info.value.ops, message
    assert all(op in message for op in info.value.ops)
    assert "signature='tensors'" in message and "text: int32 (1, 8)" in message


@pytest.mark.slow
def test_export_command_on_a_full_disk_says_so_in_one_line(
    exported, run_dir, main, tmp_path, capsys, monkeypatch
):
    import keras
    import tensorflow as tf

    out = tmp_path / "exported"
    out.mkdir()
    (out / "keep.txt").write_text("previous export")

    def write_out(self, filepath, **kwargs):
        os.makedirs(filepath)
        raise tf.errors.ResourceExhaustedError(
            None, None, f"{filepath}/saved_model.pb.tmp0123; No space left on device"
        )

    monkeypatch.setattr(type(keras.export.ExportArchive()), "write_out", write_out)
    assert main(["export", run_dir, str(out)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"mmkeras: error: export: no space left on device writing {out} (")
    assert "Traceback" not in "\n".join(err)
    assert sorted(os.listdir(tmp_path)) == ["exported"]
    assert (out / "keep.txt").read_text() == "previous export"
