"""The `mmkeras` command line: help, exit codes, errors, train / evaluate / predict / doctor."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from mmkeras.cli import COMMANDS, main

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(args, cwd, timeout=300):
    env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return subprocess.run(
        [sys.executable, "-m", "mmkeras", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_does_not_import_tensorflow():
    code = (
        "import sys; from mmkeras.cli import main; "
        "rc = main(['--help']); print('TF' if 'tensorflow' in sys.modules else 'noTF', rc)"
    )
    env = {**os.environ, "PYTHONPATH": REPO}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.split()[-2:] == ["noTF", "0"]
    assert "train" in out.stdout and "doctor" in out.stdout


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help(command, capsys):
    assert main([command, "--help"]) == 0
    assert "--debug" in capsys.readouterr().out


def test_usage_and_config_errors_exit_2_without_traceback(tmp_path, capsys):
    assert main(["train"]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndata: {train: t.csv, schema: {a: a}}\nmodel: {fusio: concat}\n")
    assert main(["train", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "model.fusio: unknown key" in err and "did you mean 'fusion'?" in err
    assert "Traceback" not in err
    assert main(["train", str(bad), "--debug"]) == 2
    assert "Traceback" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "nowhere")]) == 2


def test_doctor_reports_plainly_on_this_machine():
    out = _run(["doctor"], cwd=REPO)
    assert out.returncode == 0, out.stderr
    for needle in (
        "tensorflow",
        "keras",
        "tensorflow-text",
        "opencv",
        "CPU:",
        "GPU:",
        "TPU:",
        "XLA (jit_compile):",
        "mixed_float16:",
        "mixed_bfloat16:",
    ):
        assert needle in out.stdout
    assert "absl::InitializeLog" not in out.stderr and "cudart_stub" not in out.stderr


def test_train_evaluate_predict(tabular_config, capsys):
    config = tabular_config(name="cli")
    path = tabular_config.dir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["train", str(path), "--quiet"]) == 0
    run_dir = tabular_config.dir / "runs" / "cli"
    assert (run_dir / "model.keras").is_file()

    report = tabular_config.dir / "report.json"
    assert (
        main(
            [
                "evaluate",
                str(run_dir),
                "--data",
                str(tabular_config.dir / "val.csv"),
                "--out",
                str(report),
            ]
        )
        == 0
    )
    assert json.loads(report.read_text())

    rows = [["a", "b", "c"], ["1.0", "2.0", "0.1"], ["nan", "1", "2"], ["-3", "-1", "0"]]
    new = tabular_config.dir / "new.csv"
    with open(new, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    out = tabular_config.dir / "pred.csv"
    capsys.readouterr()
    assert main(["predict", str(run_dir), str(new), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "row 1" in err and "predicted 2 of 3 rows" in err
    with open(out, newline="") as f:
        got = list(csv.DictReader(f))
    # Every row keeps its place; the unusable one has no prediction and says why.
    assert [r["row"] for r in got] == ["0", "1", "2"]
    assert got[1]["error"] and got[1]["predicted"] == ""
    for r in (got[0], got[2]):
        probs = [float(r["prob_neg"]), float(r["prob_pos"])]
        assert abs(sum(probs) - 1) < 1e-5
        assert r["predicted"] == ["neg", "pos"][int(np.argmax(probs))]


@pytest.mark.slow
def test_killed_training_resumes_to_the_same_weights(tabular_config):
    """SIGKILL a `mmkeras train` mid-epoch, rerun it: same epochs, same final weights.

    Keras's BackupAndRestore (3.15) records only the epoch, so it would repeat the interrupted
    epoch from its first batch; mmkeras records the batch and feeds the rest of that epoch only.
    Dropout masks match because the seed-generator state is saved with the weights. What does
    differ: the interrupted epoch's row in metrics.csv averages only the batches run after the
    restart.
    """
    import keras

    import mmkeras.train.run as run_module

    config = tabular_config(
        callbacks={"tensorboard": False, "backup": {"every_steps": 1}},
        train={"epochs": 3, "verbose": 0},
    )
    config["model"]["branches"]["x"]["dropout"] = 0.3
    path = tabular_config.dir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    cwd = tabular_config.dir

    full = _run(["train", str(path), "--name", "full", "--quiet"], cwd)
    assert full.returncode == 0, full.stderr
    assert "absl::InitializeLog" not in full.stderr

    env = {**os.environ, "PYTHONPATH": REPO}
    cmd = [sys.executable, "-m", "mmkeras", "train", str(path), "--name", "killed", "--quiet"]
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    state_path = cwd / "runs" / "killed" / "backup" / "state.json"
    killed_at = None
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        try:
            state = json.loads(state_path.read_text())
        except (OSError, ValueError):
            state = {}
        if state.get("epoch") == 1 and state.get("batch", 0) >= 2:
            proc.send_signal(signal.SIGKILL)
            killed_at = (state["epoch"], state["batch"])
            break
        time.sleep(0.02)
    proc.wait()
    assert killed_at is not None, "the run ended before it could be killed mid-epoch"
    assert not (cwd / "runs" / "killed" / "model.keras").exists()

    resumed = _run(["train", str(path), "--name", "killed"], cwd)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming: stage 1, epoch 2" in resumed.stdout

    run_module.register_custom_objects()
    a = keras.saving.load_model(cwd / "runs" / "full" / "model.keras")
    b = keras.saving.load_model(cwd / "runs" / "killed" / "model.keras")
    for x, y in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(x, y)
    history = run_module.read_history(cwd / "runs" / "killed" / "metrics.csv")
    assert [r["epoch"] for r in history] == [0, 1, 2]
