"""An export directory is replaced whole or not at all."""

import os

import pytest

from mmkeras.export import write_directory_atomically


def _build(files):
    def build(tmp):
        os.makedirs(tmp)
        for name, text in files.items():
            with open(os.path.join(tmp, name), "w") as f:
                f.write(text)

    return build


def test_replaces_an_existing_directory(tmp_path):
    out = tmp_path / "export"
    write_directory_atomically(_build({"a.txt": "old", "stale.txt": "x"}), out)
    write_directory_atomically(_build({"a.txt": "new"}), out)
    assert sorted(os.listdir(out)) == ["a.txt"]
    assert (out / "a.txt").read_text() == "new"
    assert sorted(os.listdir(tmp_path)) == ["export"]  # no temporary folder left behind


def test_a_failed_build_leaves_the_old_export_untouched(tmp_path):
    out = tmp_path / "export"
    write_directory_atomically(_build({"a.txt": "old"}), out)

    def failing(tmp):
        _build({"a.txt": "half"})(tmp)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_directory_atomically(failing, out)
    assert (out / "a.txt").read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["export"]


def test_overwrite_false_refuses_an_existing_path(tmp_path):
    out = tmp_path / "export"
    write_directory_atomically(_build({"a.txt": "old"}), out)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_directory_atomically(_build({"a.txt": "new"}), out, overwrite=False)
    assert (out / "a.txt").read_text() == "old"


def test_refuses_to_replace_a_file(tmp_path):
    target = tmp_path / "model.txt"
    target.write_text("keep")
    with pytest.raises(NotADirectoryError):
        write_directory_atomically(_build({"a.txt": "x"}), target)
    assert target.read_text() == "keep"
