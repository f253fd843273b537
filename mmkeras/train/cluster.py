"""The multi-worker cluster a process belongs to, read from `TF_CONFIG`.

`TF_CONFIG` is the JSON that `tf.distribute.MultiWorkerMirroredStrategy` reads, for example
`{"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker", "index": 0}}`.
Without a `chief` entry, worker 0 is the chief. These functions read it without importing
TensorFlow, so a run can decide where it writes before the strategy exists.
"""

import os
import shutil
import tempfile

from mmkeras.json_values import json_object


def tf_config():
    """The parsed `TF_CONFIG` environment variable (`{}` when unset).

    Raises:
        ValueError: `TF_CONFIG` is not a JSON object.
    """
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return {}
    return json_object(text, "TF_CONFIG", show_text=True)


def task():
    """`(task_type, task_index)` of this process; `("worker", 0)` without `TF_CONFIG`."""
    info = tf_config().get("task") or {}
    return str(info.get("type", "worker")), int(info.get("index", 0))


def num_workers():
    """Number of training processes (`chief` + `worker` entries); 1 without `TF_CONFIG`."""
    cluster = tf_config().get("cluster") or {}
    return max(1, len(cluster.get("chief", [])) + len(cluster.get("worker", [])))


def is_chief():
    """True for the process that writes checkpoints, exports and reports.

    That is the `chief` task when the cluster names one, otherwise worker 0 (as
    `MultiWorkerMirroredStrategy` decides), and any process without `TF_CONFIG`.
    """
    config = tf_config()
    task_type, index = task()
    if task_type == "chief":
        return True
    if (config.get("cluster") or {}).get("chief"):
        return False
    return task_type == "worker" and index == 0


def check_multi_worker():
    """Raises a `ValueError` saying what is wrong when `TF_CONFIG` cannot describe a worker."""
    config = tf_config()
    cluster = config.get("cluster")
    info = config.get("task")
    if not cluster or not info:
        raise ValueError(
            "train.strategy 'multi_worker' reads the cluster from the TF_CONFIG environment "
            "variable, which is unset or lacks 'cluster' / 'task'; start the workers with "
            "`mmkeras launch-local --workers N CONFIG.yaml` or set TF_CONFIG on each machine."
        )
    task_type, index = task()
    members = cluster.get(task_type, [])
    if index < 0 or index >= len(members):
        raise ValueError(
            f"TF_CONFIG: task {task_type}:{index} is not in the cluster {cluster}; allowed "
            f"indices for {task_type!r}: 0..{len(members) - 1}."
        )


def worker_dir(run_dir):
    """The folder this process writes its run files to.

    The chief writes into `run_dir`. Every other worker writes the same files (each worker
    runs the same callbacks, so they stay in step) into a fresh temporary folder, which
    `cleanup_worker_dir` removes at the end, as the TensorFlow multi-worker guide recommends.
    """
    if is_chief():
        return run_dir
    task_type, index = task()
    return tempfile.mkdtemp(prefix=f"mmkeras-{task_type}{index}-")


def cleanup_worker_dir(path, run_dir):
    """Removes a non-chief worker's temporary folder (never the run directory itself)."""
    if os.path.abspath(path) != os.path.abspath(run_dir):
        shutil.rmtree(path, ignore_errors=True)
