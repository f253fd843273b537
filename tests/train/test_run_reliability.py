"""Training runs on a bad day: optional TensorBoard, a second process, damaged logs, a full disk."""

import errno
import importlib.util
import os
import subprocess
import sys
import time

import pytest
from image_data import image_run_config

import mmkeras as mk
from mmkeras.config import ConfigError, from_dict
from mmkeras.errors import DiskFullError
from mmkeras.train.run_lock import RunLock, RunLockedError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _config(make, **sections):
    return from_dict(make(**sections), base_dir=make.dir)


def _unfinished_run(make, monkeypatch, **sections):
    """A run directory as a crash after its last epoch leaves it: config, pipeline, backup."""
    from mmkeras.train import trainer

    def crash(*args, **kwargs):
        raise RuntimeError("killed")

    with monkeypatch.context() as m:
        m.setattr(trainer.Trainer, "finish", crash)
        with pytest.raises(RuntimeError, match="killed"):
            mk.train.fit(_config(make, **sections), verbose=False)
    run_dir = make.dir / "runs" / "run"
    assert not (run_dir / "model.keras").exists()
    return str(run_dir)


# === Defect: TensorBoard is optional ===
def test_the_default_config_trains_without_tensorboard_installed(tabular_config, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "tensorboard" else real(name, *a),
    )
    data = tabular_config()
    del data["callbacks"]  # the shipped default, as a new user has it
    run = mk.train.fit(from_dict(data, base_dir=tabular_config.dir), verbose=False)
    assert os.path.isfile(os.path.join(run.run_dir, "model.keras"))
    assert not os.path.exists(os.path.join(run.run_dir, "logs"))


def test_tensorboard_true_without_the_package_fails_before_training(tabular_config, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "tensorboard" else real(name, *a),
    )
    config = _config(tabular_config, callbacks={"tensorboard": True})
    with pytest.raises(ConfigError, match="callbacks.tensorboard: true, but the tensorboard"):
        mk.train.fit(config, verbose=False)
    assert not os.path.exists(tabular_config.dir / "runs" / "run")


def test_changing_a_logging_setting_resumes_without_restart(tabular_config, monkeypatch):
    _unfinished_run(tabular_config, monkeypatch)
    run = mk.train.fit(
        _config(tabular_config, callbacks={"tensorboard": "auto", "csv_log": False}),
        verbose=False,
    )
    assert os.path.isfile(os.path.join(run.run_dir, "model.keras"))


def test_changing_a_training_setting_still_names_it(tabular_config, monkeypatch):
    _unfinished_run(tabular_config, monkeypatch)
    config = _config(tabular_config, optimizer={"learning_rate": 0.05})
    with pytest.raises(ConfigError) as info:
        mk.train.fit(config, verbose=False)
    message = str(info.value)
    assert "optimizer.learning_rate 0.001 in the run, 0.05 now" in message
    assert "--restart" in message and "restart=True" in message


def test_a_run_saved_before_a_setting_existed_resumes(tabular_config, monkeypatch):
    _unfinished_run(tabular_config, monkeypatch)
    saved = tabular_config.dir / "runs" / "run" / "config.yaml"
    with open(saved, encoding="utf-8") as f:
        lines = f.read().splitlines()
    # The config.yaml of a run started by an older mmkeras: no `deterministic`, no `data.cache`.
    old = [ln for ln in lines if not ln.startswith(("deterministic:", "  cache:"))]
    assert len(old) == len(lines) - 2
    with open(saved, "w", encoding="utf-8") as f:
        f.write("\n".join(old) + "\n")
    run = mk.train.fit(_config(tabular_config), verbose=False)
    assert os.path.isfile(os.path.join(run.run_dir, "model.keras"))


# === Defect: one process per run ===
def test_a_second_lock_on_the_same_run_is_refused_and_named(tmp_path):
    with RunLock(tmp_path / "runs" / "a"):
        with pytest.raises(RunLockedError, match=r"being trained by another process \(pid \d+"):
            RunLock(tmp_path / "runs" / "a").acquire()
        with RunLock(tmp_path / "runs" / "b"):  # another run is free
            pass
    with RunLock(tmp_path / "runs" / "a"):  # released
        pass


def test_a_killed_holder_releases_the_lock(tmp_path):
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]);"
        "from mmkeras.train.run_lock import RunLock;"
        "RunLock(sys.argv[2]).acquire(); print('locked', flush=True); time.sleep(60)"
    )
    run_dir = str(tmp_path / "runs" / "a")
    proc = subprocess.Popen(
        [sys.executable, "-c", code, REPO, run_dir], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(RunLockedError):
            RunLock(run_dir).acquire()
    finally:
        proc.kill()
        proc.wait()
    deadline = time.time() + 10
    while True:
        try:
            RunLock(run_dir).acquire().release()
            break
        except RunLockedError:
            assert time.time() < deadline
            time.sleep(0.05)


def test_fit_refuses_a_run_another_process_trains(tabular_config):
    config = _config(tabular_config)
    with RunLock(tabular_config.dir / "runs" / "run"):
        with pytest.raises(RunLockedError, match="wait for it to finish"):
            mk.train.fit(config, verbose=False)
    assert not os.path.exists(tabular_config.dir / "runs" / "run")


# === Defect: damaged metrics.csv ===
def test_a_damaged_metrics_line_is_skipped_with_its_file_and_line(tabular_config):
    run = mk.train.fit(_config(tabular_config), verbose=False)
    path = os.path.join(run.run_dir, "metrics.csv")
    with open(path, "a", encoding="utf-8") as f:
        f.write("garbage,not,a,number,at,all\n1,0.5\n")
    with pytest.warns(mk.train.run.HistoryWarning) as caught:
        again = mk.train.Run.load(run.run_dir)
    assert [r["epoch"] for r in again.history] == [0, 1]
    messages = [str(w.message) for w in caught]
    assert any(f"{path} line 4: not a row of numbers" in m for m in messages), messages
    assert any(f"{path} line 5: 2 fields where the header has" in m for m in messages), messages


def test_resume_trims_a_damaged_metrics_log(tabular_config, monkeypatch):
    run_dir = _unfinished_run(tabular_config, monkeypatch)
    path = os.path.join(run_dir, "metrics.csv")
    with open(path, "a", encoding="utf-8") as f:
        f.write("epoch,accuracy\nx,y,z\n")
    import warnings

    from mmkeras.train.run_callbacks import trim_csv

    trim_csv(path, 1)  # a run resumed at epoch 2 rewrites its log without the damage
    with warnings.catch_warnings():
        warnings.simplefilter("error", mk.train.run.HistoryWarning)
        assert [r["epoch"] for r in mk.train.read_history(path)] == [0]


# === Defect: a full disk ===
def test_a_full_disk_in_training_is_one_clear_error_and_leaves_no_temp_file(
    tabular_config, monkeypatch
):
    import keras

    real = keras.Model.save_weights
    calls = {"n": 0}

    def save_weights(self, path, overwrite=True):
        calls["n"] += 1
        if calls["n"] == 3:  # the backup after epoch 2: the disk is full half-way through
            with open(path, "wb") as f:
                f.write(b"half a file")
            raise OSError(errno.ENOSPC, "Unable to synchronously create file (No space left)")
        return real(self, path, overwrite=overwrite)

    monkeypatch.setattr(keras.Model, "save_weights", save_weights)
    config = _config(tabular_config, train={"epochs": 3, "verbose": 0})
    with pytest.raises(DiskFullError) as info:
        mk.train.fit(config, verbose=False)
    message = str(info.value)
    assert message.startswith("no space left on device writing ")
    assert "weights-3.weights.h5" in message and "\n" not in message
    backup = tabular_config.dir / "runs" / "run" / "backup"
    assert [n for n in os.listdir(backup) if ".tmp-" in n] == []
    assert sorted(n for n in os.listdir(backup) if n.endswith(".h5")) == ["weights-2.weights.h5"]

    monkeypatch.setattr(keras.Model, "save_weights", real)
    run = mk.train.fit(config, verbose=False)  # space again: the same call resumes
    assert [r["epoch"] for r in run.history] == [0, 1, 2]


def test_a_full_disk_in_a_log_file_is_reported_as_such(tabular_config, monkeypatch):
    import keras

    def on_epoch_end(self, epoch, logs=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(keras.callbacks.CSVLogger, "on_epoch_end", on_epoch_end)
    with pytest.raises(DiskFullError, match="while training the run in .*resumes it"):
        mk.train.fit(_config(tabular_config), verbose=False)


# === What training says about its data: once ===
def test_training_summarises_the_data_once_and_the_skipped_rows_once(tmp_path, capsys):
    config = image_run_config(tmp_path, "skips", 12, errors="skip", epochs=3)
    mk.train.fit(from_dict(config, base_dir=tmp_path), verbose=True)
    out = capsys.readouterr().out
    assert out.count("data:\n") == 1
    assert "train.csv: 1 of 13 rows unusable (file_missing=1)" in out
    assert "they are skipped (data.errors: skip)" in out
    assert "target 'label': classification, 2 classes: a, b" in out
    assert out.count("skipped in the last epoch (data.errors: skip)") == 1
