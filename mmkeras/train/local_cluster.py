"""`LocalCluster`: runs a multi-worker job as processes on this machine, restarting it on failure."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

# A usage or configuration error (the `mmkeras` exit code 2) fails again on every restart.
_EXIT_USAGE = 2


def free_ports(count, host="127.0.0.1"):
    """`count` distinct TCP ports that are free on `host` right now.

    The sockets are held open together while the ports are collected, so the ports differ.
    """
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_config_for(addresses, index):
    """The `TF_CONFIG` JSON of worker `index` of a cluster of `addresses` (worker 0 is chief)."""
    return json.dumps(
        {"cluster": {"worker": list(addresses)}, "task": {"type": "worker", "index": index}}
    )


class LocalCluster:
    """Starts N worker processes on 127.0.0.1 with their `TF_CONFIG`, and keeps the job alive.

    It acts as a small cluster manager: each worker's output is streamed with a
    `[worker i]` prefix; when a worker exits with an error or is killed, the others are
    stopped and the whole cluster is started again on fresh ports (up to `max_restarts`
    times), so a job that backs itself up (`mmkeras.train.fit` does) resumes from its backup.
    A usage or configuration error (exit code 2) is not retried.

    Only the loopback interface is used: the workers listen on 127.0.0.1.

    Args:
        command: list of program arguments each worker runs (the same for every worker).
        num_workers: int >= 1, number of worker processes.
        max_restarts: int >= 0, how many times the cluster may be restarted after a failure.
        restart_command: optional list of arguments used for restarts instead of `command`
            (for example without a `--restart` flag that would throw the backup away).
        env: optional dict of extra environment variables for the workers.
        stop_timeout: seconds a worker gets to exit after SIGTERM before SIGKILL.
        output: text stream the prefixed logs go to (default: `sys.stdout`).

    Attributes:
        restarts: number of restarts done by `run()`.
        pids: process ids of the workers of the current (or last) attempt.
        exit_codes: exit codes of the workers of the last attempt (negative: killed by signal).

    Example:
    >>> import sys
    >>> cluster = LocalCluster([sys.executable, "-m", "mmkeras", "train", "run.yaml"], 2)
    >>> exit_code = cluster.run()  # doctest: +SKIP
    """

    def __init__(
        self,
        command,
        num_workers=2,
        max_restarts=3,
        restart_command=None,
        env=None,
        stop_timeout=10.0,
        output=None,
    ):
        if not isinstance(command, list | tuple) or not command:
            raise ValueError(
                f"LocalCluster: `command` must be a non-empty list of arguments, received "
                f"{command!r}."
            )
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
            raise ValueError(
                f"LocalCluster: `num_workers` must be an int >= 1, received {num_workers!r}."
            )
        if isinstance(max_restarts, bool) or not isinstance(max_restarts, int) or max_restarts < 0:
            raise ValueError(
                f"LocalCluster: `max_restarts` must be an int >= 0, received {max_restarts!r}."
            )
        self.command = [str(c) for c in command]
        self.restart_command = [str(c) for c in (restart_command or command)]
        self.num_workers = num_workers
        self.max_restarts = max_restarts
        self.env = dict(env or {})
        self.stop_timeout = float(stop_timeout)
        self.output = output
        self.restarts = 0
        self.pids = []
        self.exit_codes = []
        self._lock = threading.Lock()

    def _say(self, line):
        out = self.output or sys.stdout
        with self._lock:
            out.write(line + "\n")
            out.flush()

    def _stream(self, index, pipe):
        for line in pipe:
            self._say(f"[worker {index}] {line.rstrip()}")
        pipe.close()

    def _start(self, command):
        ports = free_ports(self.num_workers)
        addresses = [f"127.0.0.1:{p}" for p in ports]
        procs, readers = [], []
        for index in range(self.num_workers):
            env = {**os.environ, **self.env}
            env["TF_CONFIG"] = tf_config_for(addresses, index)
            env["PYTHONUNBUFFERED"] = "1"
            proc = subprocess.Popen(
                command,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                errors="replace",
                bufsize=1,
                # Its own process group, so stopping a worker also stops what it started.
                start_new_session=True,
            )
            reader = threading.Thread(target=self._stream, args=(index, proc.stdout), daemon=True)
            reader.start()
            procs.append(proc)
            readers.append(reader)
            self._say(f"[launch-local] worker {index} started: pid {proc.pid}, {addresses[index]}")
        self.pids = [p.pid for p in procs]
        return procs, readers

    def _stop(self, procs):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            alive = [p for p in procs if p.poll() is None]
            for p in alive:
                try:
                    os.killpg(p.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            deadline = time.monotonic() + self.stop_timeout
            while any(p.poll() is None for p in alive) and time.monotonic() < deadline:
                time.sleep(0.1)
        for p in procs:
            p.wait()

    def _wait(self, procs):
        """Waits until every worker succeeded (True) or one failed (False)."""
        while True:
            codes = [p.poll() for p in procs]
            failed = [(i, c) for i, c in enumerate(codes) if c not in (None, 0)]
            if failed:
                for i, code in failed:
                    how = (
                        f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
                    )
                    self._say(f"[launch-local] worker {i} failed ({how})")
                return False
            if all(c == 0 for c in codes):
                return True
            time.sleep(0.2)

    def run(self):
        """Runs the job to the end; returns 0 when every worker succeeded, else an exit code."""
        command = self.command
        while True:
            procs, readers = self._start(command)
            try:
                ok = self._wait(procs)
            except BaseException:
                self._stop(procs)
                raise
            if not ok:
                self._say("[launch-local] stopping the other workers")
            self._stop(procs)
            for reader in readers:
                reader.join(timeout=5)
            self.exit_codes = [p.returncode for p in procs]
            if ok:
                self._say(f"[launch-local] all {self.num_workers} workers finished")
                return 0
            if _EXIT_USAGE in self.exit_codes:
                self._say("[launch-local] a usage or configuration error: not restarting")
                return _EXIT_USAGE
            if self.restarts >= self.max_restarts:
                self._say(f"[launch-local] giving up after {self.restarts} restart(s)")
                return 1
            self.restarts += 1
            self._say(
                f"[launch-local] restarting the cluster ({self.restarts} of {self.max_restarts}); "
                "the job resumes from its backup"
            )
            command = self.restart_command
