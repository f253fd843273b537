"""A file written through `mmkeras.atomic_files` is replaced whole or not at all."""

import errno
import json
import os

import pytest

from mmkeras import atomic_files
from mmkeras.errors import DiskFullError


def test_write_text_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "out" / "report.txt"
    assert atomic_files.write_text(path, "old\n") == os.fspath(path)
    atomic_files.write_text(path, "new\r\n")
    assert path.read_bytes() == b"new\r\n"  # written exactly as given
    assert os.listdir(path.parent) == ["report.txt"]


def test_write_json(tmp_path):
    path = tmp_path / "metrics.json"
    atomic_files.write_json(path, {"a": 1}, indent=2)
    assert json.loads(path.read_text()) == {"a": 1}
    assert path.read_text() == json.dumps({"a": 1}, indent=2)


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "model.weights.h5"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="failed"):
        with atomic_files.atomic_path(path) as tmp:
            assert ".tmp-" in os.path.basename(tmp) and tmp.endswith(".weights.h5")
            with open(tmp, "w") as f:
                f.write("half")
            raise RuntimeError("failed")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["model.weights.h5"]


def test_a_full_disk_is_one_disk_full_error(tmp_path):
    path = tmp_path / "best.keras"
    with pytest.raises(DiskFullError) as info:
        with atomic_files.atomic_path(path) as tmp:
            with open(tmp, "w") as f:
                f.write("half")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert str(info.value).startswith(f"no space left on device writing {path}")
    assert os.listdir(tmp_path) == []


def test_a_temporary_folder_is_removed_too(tmp_path):
    path = tmp_path / "saved"
    with pytest.raises(RuntimeError):
        with atomic_files.atomic_path(path) as tmp:
            os.makedirs(os.path.join(tmp, "inner"))
            raise RuntimeError("failed")
    assert os.listdir(tmp_path) == []


def test_atomic_directory_as_a_context_manager(tmp_path):
    out = tmp_path / "records"
    with atomic_files.atomic_directory(out) as tmp:
        os.makedirs(tmp)
        (open(os.path.join(tmp, "a.txt"), "w")).write("x")
    assert os.listdir(out) == ["a.txt"]
    assert os.listdir(tmp_path) == ["records"]


def test_importing_atomic_files_imports_no_keras():
    import subprocess
    import sys

    code = (
        "import sys, mmkeras.atomic_files; "
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
