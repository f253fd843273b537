"""`LocalCluster` as a cluster manager, on plain Python workers (no TensorFlow)."""

import io
import json
import os
import sys

import pytest

from mmkeras.train import cluster
from mmkeras.train.local_cluster import LocalCluster, free_ports, tf_config_for

# Worker 1 dies on the first attempt (a marker file tells the attempts apart).
FLAKY = """
import json, os, sys
config = json.loads(os.environ["TF_CONFIG"])
index = config["task"]["index"]
marker = os.path.join(sys.argv[1], "failed-once")
print("hosts", ",".join(config["cluster"]["worker"]))
if index == 1 and not os.path.exists(marker):
    open(marker, "w").close()
    sys.exit(3)
open(os.path.join(sys.argv[1], f"done-{index}"), "w").close()
"""


def _cluster(tmp_path, source, **kwargs):
    script = tmp_path / "worker.py"
    script.write_text(source)
    log = io.StringIO()
    return LocalCluster([sys.executable, str(script), str(tmp_path)], output=log, **kwargs), log


def test_a_failed_worker_restarts_the_whole_cluster(tmp_path):
    manager, log = _cluster(tmp_path, FLAKY, num_workers=2, max_restarts=2)
    assert manager.run() == 0
    text = log.getvalue()
    assert manager.restarts == 1
    assert "[launch-local] worker 1 failed (exit code 3)" in text
    assert "restarting the cluster (1 of 2)" in text
    assert (tmp_path / "done-0").exists() and (tmp_path / "done-1").exists()
    hosts = [line.split("hosts ")[1] for line in text.splitlines() if "] hosts " in line]
    # Every worker of an attempt sees the same two loopback addresses.
    assert len(hosts) == 4
    for entry in hosts:
        addresses = entry.split(",")
        assert len(addresses) == 2 and all(a.startswith("127.0.0.1:") for a in addresses)
    assert any(line.startswith("[worker 1] hosts") for line in text.splitlines())


def test_restarts_are_bounded_and_usage_errors_are_not_retried(tmp_path):
    manager, log = _cluster(tmp_path, "import sys; sys.exit(1)", num_workers=2, max_restarts=1)
    assert manager.run() == 1
    assert manager.restarts == 1
    assert "giving up after 1 restart(s)" in log.getvalue()

    manager, log = _cluster(tmp_path, "import sys; sys.exit(2)", num_workers=2, max_restarts=3)
    assert manager.run() == 2
    assert manager.restarts == 0
    assert "not restarting" in log.getvalue()


def test_a_hanging_worker_is_stopped_when_another_fails(tmp_path):
    source = (
        "import json, os, sys, time\n"
        "if json.loads(os.environ['TF_CONFIG'])['task']['index'] == 0: time.sleep(600)\n"
        "sys.exit(5)\n"
    )
    manager, _ = _cluster(tmp_path, source, num_workers=2, max_restarts=0, stop_timeout=5)
    assert manager.run() == 1
    assert manager.exit_codes[1] == 5
    assert manager.exit_codes[0] < 0  # stopped by a signal, not left running


def test_constructor_arguments_are_checked():
    with pytest.raises(ValueError, match="`num_workers` must be an int >= 1, received 0"):
        LocalCluster(["true"], num_workers=0)
    with pytest.raises(ValueError, match="`max_restarts` must be an int >= 0"):
        LocalCluster(["true"], max_restarts=-1)
    with pytest.raises(ValueError, match="`command` must be a non-empty list"):
        LocalCluster("python train.py")


def test_tf_config_describes_the_task_and_its_chief(monkeypatch):
    ports = free_ports(3)
    assert len(set(ports)) == 3
    addresses = [f"127.0.0.1:{p}" for p in ports]
    monkeypatch.setenv("TF_CONFIG", tf_config_for(addresses, 2))
    assert cluster.task() == ("worker", 2)
    assert cluster.num_workers() == 3
    assert not cluster.is_chief()
    cluster.check_multi_worker()
    monkeypatch.setenv("TF_CONFIG", tf_config_for(addresses, 0))
    assert cluster.is_chief()
    monkeypatch.setenv(
        "TF_CONFIG",
        json.dumps({"cluster": {"chief": ["a:1"], "worker": ["b:2"]}, "task": {"type": "worker"}}),
    )
    assert not cluster.is_chief() and cluster.num_workers() == 2
    monkeypatch.setenv("TF_CONFIG", tf_config_for(addresses, 5))
    with pytest.raises(ValueError, match="task worker:5 is not in the cluster"):
        cluster.check_multi_worker()
    monkeypatch.delenv("TF_CONFIG")
    assert cluster.is_chief() and cluster.num_workers() == 1
    with pytest.raises(ValueError, match="TF_CONFIG environment variable, which is unset"):
        cluster.check_multi_worker()
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        cluster.tf_config()


def test_only_the_chief_writes_into_the_run_directory(monkeypatch, tmp_path):
    addresses = ["127.0.0.1:1", "127.0.0.1:2"]
    monkeypatch.setenv("TF_CONFIG", tf_config_for(addresses, 0))
    assert cluster.worker_dir(str(tmp_path)) == str(tmp_path)
    monkeypatch.setenv("TF_CONFIG", tf_config_for(addresses, 1))
    other = cluster.worker_dir(str(tmp_path))
    assert other != str(tmp_path) and "worker1" in other
    assert os.path.isdir(other)
    with open(os.path.join(other, "metrics.csv"), "w") as f:  # the worker's own copy of a file
        f.write("epoch\n0\n")
    cluster.cleanup_worker_dir(other, str(tmp_path))
    assert not os.path.exists(other)  # the worker's temporary folder is gone, files and all
    cluster.cleanup_worker_dir(str(tmp_path), str(tmp_path))
    assert tmp_path.exists()


def test_launch_local_refuses_a_single_process_strategy(tmp_path, multi_worker_config):
    from mmkeras.cli import main

    config = multi_worker_config(strategy="default")
    assert main(["launch-local", "--workers", "2", config]) == 2
