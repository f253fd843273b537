"""Manifests as spreadsheets write them: byte-order marks, other delimiters, other encodings."""

import pytest

import mmkeras as mk
from mmkeras.data.manifest import read_manifest

ROWS = [{"wav": f"{i}.wav", "label": "ab"[i % 2]} for i in range(4)]


def write_manifest(path, rows, delimiter=",", bom=False, encoding="utf-8"):
    columns = list(rows[0])
    lines = [delimiter.join(columns)] + [delimiter.join(r[c] for c in columns) for r in rows]
    data = ("\r\n".join(lines) + "\r\n").encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return str(path)


def audio_pipe(folder, **kwargs):
    return mk.data.Pipeline(
        schema={"audio": "wav", "label": "label"},
        audio=mk.data.AudioSpec(sample_rate=8000, duration=0.1),
        root=str(folder),
        **kwargs,
    )


@pytest.fixture
def wavs(tmp_path, files):
    for i in range(4):
        files.write_wav(tmp_path / f"{i}.wav", 300.0 * (i + 1), seconds=0.15)
    return tmp_path


def test_excel_utf8_bom_is_dropped(wavs):
    path = write_manifest(wavs / "excel.csv", ROWS, bom=True)
    records, _, _ = read_manifest(path)
    assert list(records[0]) == ["wav", "label"] and records == ROWS
    pipe = audio_pipe(wavs)
    assert pipe.adapt(path).ok
    assert [int(y) for _, ys in pipe.dataset(path, batch_size=4) for y in ys] == [0, 1, 0, 1]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiter_is_sniffed_from_the_header(wavs, delimiter):
    path = write_manifest(wavs / "other.csv", ROWS, delimiter=delimiter, bom=True)
    assert read_manifest(path)[0] == ROWS
    assert audio_pipe(wavs).validate(path).num_good_rows == 4


def test_sniffing_falls_back_to_comma_for_one_column():
    from mmkeras.data.manifest import sniff_delimiter

    assert sniff_delimiter("image") == ","
    assert sniff_delimiter("image;caption;label") == ";"
    assert sniff_delimiter('"a;b",c') == ","


def test_explicit_delimiter_on_the_pipeline_is_used_and_saved(wavs, tmp_path):
    # Colons are not sniffed: only an explicit delimiter reads this file.
    rows = [dict(r, label=f"x;{r['label']}") for r in ROWS]
    path = write_manifest(wavs / "colon.csv", rows, delimiter=":")
    assert read_manifest(path, delimiter=":")[0] == rows
    with pytest.raises(ValueError, match=r"one column.*delimiter"):
        audio_pipe(wavs).validate(path)
    pipe = audio_pipe(wavs, delimiter=":")
    pipe.adapt(path)
    assert pipe.labels == ["x;a", "x;b"]
    pipe.save(str(tmp_path / "saved"))
    loaded = mk.data.Pipeline.load(str(tmp_path / "saved"))
    assert loaded.delimiter == ":" and loaded.validate(path).num_good_rows == 4
    with pytest.raises(ValueError, match="delimiter"):
        audio_pipe(wavs, delimiter=";;")


def test_header_that_is_not_utf8_names_file_and_line(wavs):
    rows = [{"wäv": r["wav"], "label": r["label"]} for r in ROWS]
    path = write_manifest(wavs / "latin1.csv", rows, encoding="latin-1")
    with pytest.raises(ValueError, match=r"latin1\.csv: line 1 is not valid UTF-8.*0xE4"):
        read_manifest(path)
    with pytest.raises(ValueError, match="CSV UTF-8"):
        audio_pipe(wavs).validate(path)


def test_utf16_manifest_names_file_and_line(wavs):
    path = write_manifest(wavs / "unicode.csv", ROWS, delimiter="\t", encoding="utf-16")
    with pytest.raises(ValueError, match=r"unicode\.csv: line 1 is not UTF-8: the file is UTF-16"):
        read_manifest(path)
    no_bom = write_manifest(wavs / "le.csv", ROWS, encoding="utf-16-le")
    with pytest.raises(ValueError, match=r"le\.csv: line 1 is not valid UTF-8.*NUL"):
        read_manifest(no_bom)


def test_header_only_manifest_says_it_has_no_rows(wavs):
    (wavs / "empty.csv").write_text("wav,label\n", encoding="utf-8")
    pipe = audio_pipe(wavs, label=mk.data.LabelSpec(classes=["a", "b"]))  # adapted already
    for call in (pipe.validate, pipe.adapt, pipe.dataset):
        with pytest.raises(ValueError, match=r"empty\.csv: the manifest has a header line") as e:
            call(str(wavs / "empty.csv"))
        assert "no data rows" in str(e.value) and "not found" not in str(e.value)
    (wavs / "blank.csv").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match=r"blank\.csv: the manifest is empty"):
        pipe.validate(str(wavs / "blank.csv"))
    (wavs / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match="the manifest is empty"):
        pipe.validate(str(wavs / "empty.jsonl"))
    with pytest.raises(ValueError, match="has no rows"):
        pipe.validate([])


def test_folder_instead_of_manifest_file_is_named_as_such(wavs):
    (wavs / "manifests.csv").mkdir()
    pipe = audio_pipe(wavs)
    for folder in (wavs, wavs / "manifests.csv"):
        with pytest.raises(ValueError, match="is a folder, not a file") as e:
            pipe.validate(str(folder))
        assert "not found" not in str(e.value)
    with pytest.raises(FileNotFoundError, match="not found"):
        pipe.validate(str(wavs / "nope.csv"))
