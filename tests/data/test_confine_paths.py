"""`Pipeline(confine_paths=True)`: a manifest cannot make the pipeline read outside its root."""

import os

import pytest

import mmkeras as mk


@pytest.fixture
def layout(tmp_path, files):
    """`root/` with two WAVs and a link to each of them, and `outside.wav` beside the root."""
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    files.write_wav(root / "in.wav", 300.0, seconds=0.15)
    files.write_wav(root / "sub" / "deep.wav", 400.0, seconds=0.15)
    files.write_wav(tmp_path / "outside.wav", 500.0, seconds=0.15)
    os.symlink(tmp_path / "outside.wav", root / "link_out.wav")
    os.symlink(root / "sub" / "deep.wav", root / "link_in.wav")
    rows = [
        {"wav": "in.wav", "label": "a"},  # 0
        {"wav": "sub/../sub/deep.wav", "label": "b"},  # 1: `..` that stays inside
        {"wav": "link_in.wav", "label": "a"},  # 2: a link that stays inside
        {"wav": "../outside.wav", "label": "b"},  # 3
        {"wav": str(tmp_path / "outside.wav"), "label": "a"},  # 4: absolute
        {"wav": "link_out.wav", "label": "b"},  # 5: a link leading out
        {"wav": "../nope.wav", "label": "a"},  # 6: outside, and missing as well
        {"wav": str(root / "in.wav"), "label": "b"},  # 7: absolute, inside
    ]
    return tmp_path, root, rows


def make_pipe(root, **kwargs):
    return mk.data.Pipeline(
        schema={"audio": "wav", "label": "label"},
        audio=mk.data.AudioSpec(sample_rate=8000, duration=0.1),
        label=mk.data.LabelSpec(classes=["a", "b"]),
        root=str(root),
        **kwargs,
    )


def test_default_reads_any_path(layout):
    _, root, rows = layout
    report = make_pipe(root).validate(rows)
    assert {p.row: p.reason for p in report.problems} == {6: "file_missing"}


def test_validate_reports_each_escaping_row(layout):
    tmp_path, root, rows = layout
    report = make_pipe(root, confine_paths=True).validate(rows)
    assert {p.row: p.reason for p in report.problems} == {
        r: "path_outside_root" for r in (3, 4, 5, 6)
    }
    link = report.for_row(5)[0]
    assert str(tmp_path / "outside.wav") in link.detail and str(root) in link.detail
    assert "path_outside_root" in str(report) and "row 5 [audio]" in str(report)


def test_skip_counts_escaping_rows(layout):
    _, root, rows = layout
    pipe = make_pipe(root, confine_paths=True)
    ds, skips = pipe.dataset(rows, batch_size=8, errors="skip", verbose=False, return_report=True)
    ((_, labels),) = list(ds)
    assert labels.numpy().tolist() == [0, 1, 0, 1]  # rows 0, 1, 2, 7
    assert skips.counts == {"path_outside_root": 4} and skips.num_skipped == 4


def test_raise_names_row_file_and_root(layout):
    tmp_path, root, rows = layout
    pipe = make_pipe(root, confine_paths=True)
    with pytest.raises(mk.data.DataValidationError) as e:
        pipe.dataset(rows[:4])
    message = str(e.value)
    assert "row 3 [audio] file " in message and "path_outside_root" in message
    assert repr(str(root)) in message and str(tmp_path / "outside.wav") in message


def test_root_defaults_to_the_manifest_folder(layout, files):
    _, root, rows = layout
    files.write_csv(root / "train.csv", rows)
    pipe = mk.data.Pipeline(
        schema={"audio": "wav", "label": "label"},
        audio=mk.data.AudioSpec(sample_rate=8000, duration=0.1),
        label=mk.data.LabelSpec(classes=["a", "b"]),
        confine_paths=True,
    )
    report = pipe.validate(str(root / "train.csv"))
    assert report.bad_rows == [3, 4, 5, 6] and report.counts == {"path_outside_root": 4}


def test_confine_paths_is_checked_and_saved(layout, tmp_path):
    _, root, rows = layout
    with pytest.raises(ValueError, match="confine_paths"):
        make_pipe(root, confine_paths="yes")
    make_pipe(root, confine_paths=True).save(str(tmp_path / "saved"))
    loaded = mk.data.Pipeline.load(str(tmp_path / "saved"))
    assert loaded.confine_paths is True
    assert loaded.validate(rows).bad_rows == [3, 4, 5, 6]
