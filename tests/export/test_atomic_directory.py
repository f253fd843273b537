"""An export directory is replaced whole or not at all, and a crash or a full disk leaves no debris."""

import errno
import os
import shutil
import signal
import subprocess
import sys

import pytest

from mmkeras import atomic_files
from mmkeras.atomic_files import write_directory_atomically
from mmkeras.errors import DiskFullError


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


def _fill_then_fail(error):
    def build(tmp):
        _build({"a.txt": "half"})(tmp)
        raise error

    return build


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        OSError(errno.EDQUOT, "Disk quota exceeded"),
    ],
    ids=["ENOSPC", "EDQUOT"],
)
def test_a_full_disk_gives_one_clear_error_and_keeps_the_old_export(tmp_path, error):
    out = tmp_path / "export"
    write_directory_atomically(_build({"a.txt": "old"}), out)
    with pytest.raises(DiskFullError) as info:
        write_directory_atomically(_fill_then_fail(error), out)
    message = str(info.value)
    assert message.startswith(f"export: no space left on device writing {out} (")
    assert "\n" not in message and "the previous export there is unchanged" in message
    assert isinstance(info.value, OSError) and info.value.errno == errno.ENOSPC
    assert info.value.__cause__ is error
    assert (out / "a.txt").read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["export"]


def test_a_full_disk_while_tensorflow_writes_the_saved_model(exported, tmp_path, monkeypatch):
    import keras
    import tensorflow as tf

    import mmkeras as mk

    out = tmp_path / "serving"
    shutil.copytree(exported.path, out)
    before = (out / "saved_model.pb").read_bytes()

    def write_out(self, filepath, **kwargs):
        os.makedirs(os.path.join(filepath, "variables"))
        with open(os.path.join(filepath, "variables", "variables.data-00000-of-00001"), "wb") as f:
            f.write(b"\0" * 1000)
        # What TensorFlow raised when a real 1 MiB tmpfs filled up during an export.
        raise tf.errors.ResourceExhaustedError(
            None, None, f"{filepath}/saved_model.pb.tmp0123; No space left on device"
        )

    # `ExportArchive()` gives an instance of the backend's archive class: patch that one.
    monkeypatch.setattr(type(keras.export.ExportArchive()), "write_out", write_out)
    with pytest.raises(DiskFullError, match="no space left on device writing"):
        mk.export.saved_model(exported.model, exported.pipe, out)
    assert (out / "saved_model.pb").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["serving"]
    monkeypatch.undo()
    assert tf.saved_model.load(str(out)).signatures["serving_default"] is not None


def test_other_resource_errors_are_not_called_a_full_disk(tmp_path):
    out = tmp_path / "export"
    with pytest.raises(MemoryError):
        write_directory_atomically(_fill_then_fail(MemoryError("OOM when allocating")), out)
    assert os.listdir(tmp_path) == []


def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()  # reaped: no process has this id any more (until the id is reused)
    return process.pid


def _side_folder(parent, target, kind, pid, host=None):
    host = atomic_files._host() if host is None else host
    folder = parent / f".{target}.{kind}-{host}-{pid}-0123abcd"
    folder.mkdir()
    (folder / "saved_model.pb").write_bytes(b"half")
    return folder


def test_a_later_export_removes_temp_folders_of_dead_processes(tmp_path):
    dead = _dead_pid()
    stale = _side_folder(tmp_path, "export", "tmp", dead)
    stale_old = _side_folder(tmp_path, "export", "old", dead)
    live = _side_folder(tmp_path, "export", "tmp", os.getpid())
    other_host = _side_folder(tmp_path, "export", "tmp", dead, host="another.host")
    other_target = _side_folder(tmp_path, "export2", "tmp", dead)
    unnamed = tmp_path / ".export.tmp-0123abcd"  # no owner in the name: never guessed at
    unnamed.mkdir()
    write_directory_atomically(_build({"a.txt": "old"}), tmp_path / "export")
    write_directory_atomically(_build({"a.txt": "new"}), tmp_path / "export")
    assert not stale.exists() and not stale_old.exists()
    assert live.exists() and other_host.exists() and other_target.exists() and unnamed.exists()
    assert (tmp_path / "export" / "a.txt").read_text() == "new"


def test_an_old_export_set_aside_by_a_killed_process_is_put_back(tmp_path):
    dead = _dead_pid()
    old = _side_folder(tmp_path, "export", "old", dead)
    _side_folder(tmp_path, "export", "tmp", dead)

    def failing(tmp):
        raise RuntimeError("build failed")

    with pytest.raises(RuntimeError, match="build failed"):
        write_directory_atomically(failing, tmp_path / "export")
    assert not old.exists()
    assert (tmp_path / "export" / "saved_model.pb").read_bytes() == b"half"
    assert sorted(os.listdir(tmp_path)) == ["export"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_kill_9_during_an_export_then_the_next_export_cleans_up(tmp_path):
    out = tmp_path / "export"
    write_directory_atomically(_build({"a.txt": "old"}), out)

    def killed(tmp):
        _build({"a.txt": "half"})(tmp)
        os.kill(os.getpid(), signal.SIGKILL)

    pid = os.fork()
    if pid == 0:  # the child only touches files, then is killed mid-export
        try:
            write_directory_atomically(killed, out)
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    left = [name for name in os.listdir(tmp_path) if name != "export"]
    assert len(left) == 1
    assert left[0].startswith(f".export.tmp-{atomic_files._host()}-{pid}-")
    assert (out / "a.txt").read_text() == "old"
    write_directory_atomically(_build({"a.txt": "new"}), out)
    assert sorted(os.listdir(tmp_path)) == ["export"]
    assert (out / "a.txt").read_text() == "new"
