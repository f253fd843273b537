import struct

import numpy as np
import pytest
import tensorflow as tf

import mmkeras as mk

SCHEMA = {"image": "image", "text": "caption", "audio": "wav", "meta": ["x"], "label": "label"}


def make_pipe(folder):
    return mk.data.Pipeline(
        schema=SCHEMA,
        image=mk.data.ImageSpec(size=(16, 16), max_pixels=5000),
        text=mk.data.TextSpec(max_length=6, vocab_size=50),
        audio=mk.data.AudioSpec(sample_rate=8000, duration=0.25, max_duration=1.0),
        specs={"meta": mk.data.TabularSpec()},
        label=mk.data.LabelSpec(classes=["a", "b"]),
        root=str(folder),
    )


def float_wav(path):
    data = np.zeros(800, "<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, 8000, 32000, 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data"
    body += struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


# Each bad row, with the reason validation must give.
BAD = {
    "missing_file": "file_missing",
    "corrupt_image": "image_corrupt",
    "truncated_jpeg": "image_corrupt",
    "huge_image": "image_too_large",
    "truncated_wav": "audio_truncated",
    "float_wav": "audio_not_pcm16",
    "long_wav": "audio_too_long",
    "empty_text": "text_empty",
    "latin1_text": "text_not_utf8",
    "nan_value": "tabular_not_finite",
    "inf_value": "tabular_not_finite",
    "unknown_label": "label_unknown",
}


@pytest.fixture
def bad_manifest(tmp_path, files):
    files.write_image(tmp_path / "ok.jpg", (200, 20, 20))
    files.write_image(tmp_path / "ok.png", (20, 200, 20))
    files.write_image(tmp_path / "huge.png", (20, 20, 200), size=(100, 100))
    files.write_wav(tmp_path / "ok.wav", 440.0, rate=8000, seconds=0.3)
    files.write_wav(tmp_path / "long.wav", 440.0, rate=8000, seconds=1.5)
    (tmp_path / "corrupt.jpg").write_bytes(b"this is not an image at all" * 10)
    jpeg = (tmp_path / "ok.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    wav = (tmp_path / "ok.wav").read_bytes()
    (tmp_path / "truncated.wav").write_bytes(wav[: len(wav) // 2])
    float_wav(tmp_path / "float.wav")

    good = {"image": "ok.jpg", "caption": "a red one", "wav": "ok.wav", "x": "1.5", "label": "a"}
    rows = [dict(good, caption=f"good row {i}", label="ab"[i % 2]) for i in range(4)]
    rows[1]["image"] = "ok.png"
    changes = {
        "missing_file": {"image": "nope.jpg"},
        "corrupt_image": {"image": "corrupt.jpg"},
        "truncated_jpeg": {"image": "truncated.jpg"},
        "huge_image": {"image": "huge.png"},
        "truncated_wav": {"wav": "truncated.wav"},
        "float_wav": {"wav": "float.wav"},
        "long_wav": {"wav": "long.wav"},
        "empty_text": {"caption": "   "},
        "latin1_text": {"caption": "caf\udce9"},  # the byte 0xE9 alone: Latin-1, not UTF-8
        "nan_value": {"x": "nan"},
        "inf_value": {"x": "-inf"},
        "unknown_label": {"label": "zzz"},
    }
    for case in BAD:
        rows.append(dict(good, **changes[case]))
    lines = [",".join(SCHEMA_COLUMNS)]
    for r in rows:
        lines.append(",".join(r[c] for c in SCHEMA_COLUMNS))
    data = "\n".join(lines).encode("utf-8", "surrogateescape") + b"\n"
    (tmp_path / "bad.csv").write_bytes(data)
    return tmp_path


SCHEMA_COLUMNS = ["image", "caption", "wav", "x", "label"]


def adapted(folder):
    pipe = make_pipe(folder)
    pipe.adapt(str(folder / "bad.csv"))  # the vocabulary, from the usable rows only
    return pipe


def test_validate_reports_each_bad_row_with_its_reason(bad_manifest):
    pipe = adapted(bad_manifest)
    assert pipe.labels == ["a", "b"]
    report = pipe.validate(str(bad_manifest / "bad.csv"))
    expected = {4 + i: reason for i, reason in enumerate(BAD.values())}
    assert {p.row: p.reason for p in report.problems} == expected
    assert report.num_rows == 16 and report.num_bad_rows == 12 and report.num_good_rows == 4
    counts = report.counts
    assert counts["image_corrupt"] == 2 and counts["tabular_not_finite"] == 2
    assert sum(counts.values()) == 12
    missing = report.for_row(4)[0]
    assert missing.input == "image" and missing.path.endswith("nope.jpg")
    text = str(report)
    assert "12 of 16 rows unusable" in text and "row 4 [image]" in text
    assert report.to_dict()["counts"] == counts


def test_skip_drops_exactly_the_bad_rows(bad_manifest, capfd):
    pipe = adapted(bad_manifest)
    ds = pipe.dataset(str(bad_manifest / "bad.csv"), batch_size=3, errors="skip")
    texts, labels = [], []
    for x, y in ds:
        texts.append(x["text"].numpy())
        labels.extend(y.numpy().tolist())
    assert labels == [0, 1, 0, 1]
    assert "12 of 16 rows unusable" in capfd.readouterr().err
    assert pipe.skipped.num_bad_rows == 12 and pipe.skipped.counts["image_corrupt"] == 2


def test_raise_names_row_file_and_reason(bad_manifest):
    pipe = adapted(bad_manifest)
    with pytest.raises(mk.data.DataValidationError, match=r"row 4 \[image\] file '.*nope.jpg'"):
        pipe.dataset(str(bad_manifest / "bad.csv"))
    try:
        pipe.dataset(str(bad_manifest / "bad.csv"))
    except mk.data.DataValidationError as e:
        assert "file_missing" in str(e) and e.report.num_bad_rows == 12


def test_file_changed_after_validation_is_caught_in_the_graph(tmp_path, files):
    for i in range(3):
        files.write_wav(tmp_path / f"{i}.wav", 300.0 * (i + 1), seconds=0.3)
    rows = [{"wav": f"{i}.wav", "label": str(i)} for i in range(3)]
    pipe = mk.data.Pipeline(
        schema={"audio": "wav", "label": "label"},
        audio=mk.data.AudioSpec(sample_rate=8000, duration=0.25),
        root=str(tmp_path),
    )
    pipe.adapt(rows)
    raise_ds = pipe.dataset(rows, batch_size=3)
    skip_ds = pipe.dataset(rows, batch_size=3, errors="skip", verbose=False)  # pipe.skipped
    files.write_wav(tmp_path / "1.wav", 300.0, seconds=0.2)  # replaced by a shorter file
    ((_, labels),) = list(skip_ds)
    np.testing.assert_array_equal(labels, [0, 2])
    assert pipe.skipped.counts == {"file_changed": 1} and pipe.skipped.bad_rows == [1]
    with pytest.raises(tf.errors.OpError, match="row 1 file .*1.wav.*file_changed"):
        list(raise_ds)


def test_header_checks_without_decoding(tmp_path, files):
    from mmkeras.data.file_checks import FileProblem, image_header, wav_header

    for ext in (".jpg", ".png", ".bmp"):
        files.write_image(tmp_path / f"a{ext}", (1, 2, 3), size=(30, 70))
        info = image_header(tmp_path / f"a{ext}")
        assert (info["width"], info["height"]) == (70, 30)
    files.write_wav(tmp_path / "s.wav", 100.0, rate=16000, seconds=0.75, channels=2)
    info = wav_header(tmp_path / "s.wav")
    assert (info["channels"], info["sample_rate"], info["frames"]) == (2, 16000, 12000)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(FileProblem) as err:
        image_header(tmp_path / "empty.png")
    assert err.value.reason == "image_corrupt"
