"""`mmkeras validate`: unusable rows with row number and reason, and what training would infer."""

import collections
import csv
import os
import shutil

import pytest
import yaml

from mmkeras.cli import main

DATASET = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "mmkeras",
    "datasets",
    "av_digits",
)


def _copy_rows(split, count, folder, labels=None):
    """The first `count` rows of a bundled split (with a label in `labels`), files included."""
    with open(os.path.join(DATASET, f"{split}.csv"), newline="") as f:
        rows = [row for row in csv.DictReader(f) if labels is None or row["label"] in labels]
    rows = rows[:count]
    for row in rows:
        for column in ("image", "audio"):
            target = folder / row[column]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(os.path.join(DATASET, row[column]), target)
    _write(folder / f"{split}.csv", rows)
    return rows


def _write(path, rows):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["image", "audio", "text", "label"])
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


@pytest.fixture
def digits(tmp_path):
    """A few rows of the bundled AV-Digits data and a config like examples/configs/av_digits.yaml."""
    train = _copy_rows("train", 14, tmp_path)
    # A label training never saw is unusable: keep to the classes of these few training rows.
    _copy_rows("validation", 6, tmp_path, labels={row["label"] for row in train})
    config = {
        "name": "digits",
        "data": {
            "train": "train.csv",
            "validation": "validation.csv",
            "schema": {"image": "image", "audio": "audio", "text": "text", "label": "label"},
            "image": {"size": [32, 32]},
            "audio": {"sample_rate": 8000, "duration": 1.0},
            "text": {"tokenizer": "word", "max_length": 12, "vocab_size": 500},
            "batch_size": 4,
        },
        "model": {
            "branches": {
                "image": {"kind": "image_cnn", "filters": [8], "output_dim": 8},
                "audio": {"kind": "audio_cnn", "n_mels": 16, "output_dim": 8},
                "text": {"kind": "text_rnn", "vocab_size": "auto", "output_dim": 8},
            },
            "fusion": "concat",
            "task": {"kind": "classification", "num_classes": "auto"},
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return {"dir": tmp_path, "config": str(path), "train": train}


def _bad_manifest(digits):
    """Row 0 good, 1 a missing file, 2 a corrupt image, 3 an unknown label."""
    folder = digits["dir"]
    (folder / "images" / "corrupt.png").write_bytes(b"this is not a PNG file")
    good = dict(digits["train"][0])
    rows = [
        good,
        {**good, "image": "images/missing.png"},
        {**good, "image": "images/corrupt.png"},
        {**good, "label": "eleven"},
    ]
    return _write(folder / "new.csv", rows)


def test_config_on_the_bundled_data(digits, capsys):
    assert main(["validate", digits["config"]]) == 0
    out = capsys.readouterr().out
    assert "train.csv: 14 rows, all usable" in out
    assert "validation.csv: 6 rows, all usable" in out
    assert "all 20 rows of 2 manifest(s) are usable." in out
    # Inputs as the model is built for them, after adapting on data.train.
    assert "(32, 32, 3)" in out and "(8000,)" in out and "(12,)" in out
    assert "vocabulary" in out and "tokens" in out
    # Classes with their counts per manifest.
    counts = collections.Counter(row["label"] for row in digits["train"])
    classes = sorted(counts, key=int)
    assert f"classification, {len(classes)} classes" in out
    table = out[out.index("class  train  validation") :].splitlines()
    for label in classes:
        line = next(line for line in table[1:] if line.split()[0] == label)
        assert int(line.split()[1]) == counts[label]


def test_unusable_rows_are_listed_with_row_number_and_reason(digits, capsys):
    bad = _bad_manifest(digits)
    assert main(["validate", digits["config"], "--data", bad]) == 1
    out = capsys.readouterr().out
    assert "new.csv: 4 rows, 3 unusable" in out
    assert "row 0:" not in out
    assert "row 1: image 'images/missing.png': file_missing" in out
    assert "row 2: image 'images/corrupt.png': image_corrupt" in out
    assert "row 3: label: label_unknown" in out and "'eleven'" in out
    assert "3 of 4 rows cannot be used" in out
    assert "data.errors: skip" in out and "errors=" not in out


def test_a_bad_split_of_the_config_fails(digits, capsys):
    rows = list(digits["train"][:3])
    rows[1] = {**rows[1], "audio": "audio/gone.wav"}
    _write(digits["dir"] / "validation.csv", rows)
    assert main(["validate", digits["config"], "--limit", "0"]) == 1
    out = capsys.readouterr().out
    assert "train.csv: 14 rows, all usable" in out
    assert "validation.csv: 3 rows, 1 unusable (file_missing 1)" in out
    assert "row 1: audio 'audio/gone.wav': file_missing" in out


def test_manifest_read_with_a_saved_pipeline(digits, capsys):
    """`validate DATA --schema RUN_DIR` and `validate RUN_DIR --data DATA` use the run's pipeline."""
    from mmkeras.config import load
    from mmkeras.train.builders import build_pipeline, resolve_path

    config = load(digits["config"])
    pipe = build_pipeline(config)
    pipe.adapt(resolve_path(config, config.data.train))
    run_dir = digits["dir"] / "run"
    pipe.save(str(run_dir / "pipeline"))  # what `mmkeras train` writes
    bad = _bad_manifest(digits)
    assert main(["validate", bad, "--schema", str(run_dir)]) == 1
    first = capsys.readouterr().out
    assert main(["validate", str(run_dir), "--data", bad]) == 1
    assert capsys.readouterr().out == first
    assert "row 3: label: label_unknown" in first


def test_a_manifest_without_labels_has_its_inputs_checked(digits, capsys):
    rows = [{**row, "label": ""} for row in digits["train"][:3]]
    rows[2]["text"] = "  "
    path = digits["dir"] / "to_predict.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["image", "audio", "text"])
        writer.writeheader()
        writer.writerows({k: v for k, v in row.items() if k != "label"} for row in rows)
    assert main(["validate", digits["config"], "--data", str(path)]) == 1
    out = capsys.readouterr().out
    assert "3 rows, 1 unusable (text_empty 1); no column for target(s) 'label': inputs only" in out
    assert "row 2: text: text_empty" in out


def test_a_manifest_missing_an_input_column_cannot_be_read(digits, capsys):
    path = digits["dir"] / "no_audio.csv"
    path.write_text("image,text,label\nimages/x.png,hello,1\n")
    assert main(["validate", digits["config"], "--data", str(path)]) == 1
    out = capsys.readouterr().out
    assert "no_audio.csv: cannot be read:" in out and "'audio'" in out
    assert "1 manifest(s) cannot be read" in out


def test_deep_decodes_the_images(digits, capsys):
    data = (digits["dir"] / digits["train"][0]["image"]).read_bytes()
    damaged = bytearray(data)
    for i in range(60, min(len(damaged) - 20, 200)):  # inside the compressed data
        damaged[i] ^= 0xFF
    (digits["dir"] / "images" / "damaged.png").write_bytes(bytes(damaged))
    manifest = _write(
        digits["dir"] / "deep.csv", [{**digits["train"][0], "image": "images/damaged.png"}]
    )
    assert main(["validate", digits["config"], "--data", manifest]) == 0
    capsys.readouterr()
    assert main(["validate", digits["config"], "--data", manifest, "--deep"]) == 1
    assert "row 0: image 'images/damaged.png': image_corrupt" in capsys.readouterr().out


def test_a_model_section_that_does_not_fit_the_data_exits_2(digits, capsys):
    config = yaml.safe_load((digits["dir"] / "config.yaml").read_text())
    config["model"]["branches"]["image"] = {"kind": "text_rnn", "vocab_size": "auto"}
    path = digits["dir"] / "wrong.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    assert main(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert "all 20 rows" not in captured.out  # the data is fine, the config is not
    assert "model.branches.image.kind: 'text_rnn' reads text" in captured.err


def test_usage_errors_exit_2(digits, capsys):
    bad = _bad_manifest(digits)
    assert main(["validate", bad]) == 2
    assert "--schema CONFIG.yaml" in capsys.readouterr().err
    assert main(["validate", str(digits["dir"] / "nowhere.yaml")]) == 2
    assert main(["validate", bad, "--schema", digits["config"], "--data", bad]) == 2
    assert main(["validate", str(digits["dir"])]) == 2  # a folder, but no run's pipeline/
    assert "not a run directory" in capsys.readouterr().err
    assert main(["validate", digits["config"], "--data", "missing.csv"]) == 2


def test_help_explains_the_three_forms(capsys):
    assert main(["validate", "--help"]) == 0
    out = capsys.readouterr().out
    for form in (
        "mmkeras validate CONFIG.yaml",
        "mmkeras validate CONFIG.yaml --data new.csv",
        "mmkeras validate RUN_DIR --data new.csv",
        "--schema",
        "exit status: 0",
    ):
        assert form in out
