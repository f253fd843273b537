"""`mmkeras serve EXPORT_DIR`: prints its URL, serves, and stops cleanly on SIGTERM / SIGINT."""

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from mmkeras.cli import main
from tests.serve.conftest import Client

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
START_TIMEOUT_S = 180


def _lines(stream, out):
    for line in stream:
        out.put(line)
    out.put(None)


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_prints_its_url_serves_and_stops_on_a_signal(served_export, stop_signal):
    env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [sys.executable, "-m", "mmkeras", "serve", served_export.path, "--port", "0"]
    command += ["--model-name", "demo", "--no-batching"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    lines = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    try:
        url, printed, deadline = None, [], time.monotonic() + START_TIMEOUT_S
        while url is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break
            printed.append(line)
            match = re.search(r"status:\s+GET\s+(http://127\.0\.0\.1:\d+/v1/models/demo)$", line)
            url = match.group(1) if match else None
        assert url, f"no URL printed: {printed} {process.stderr.read() if process.poll() else ''}"
        client = Client(url)
        assert client.get()[1]["model_version_status"][0]["state"] == "AVAILABLE"
        status, body = client.predict({"instances": [served_export.instance(0)]})
        assert status == 200 and body["predictions"][0]["label"] in ("bird", "cat", "dog")
        assert client.predict(raw=b"{oops")[0] == 400
        process.send_signal(stop_signal)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()


def test_serve_refuses_a_folder_without_an_export(tmp_path, capsys):
    assert main(["serve", str(tmp_path)]) == 2
    assert "not an export directory" in capsys.readouterr().err


def test_serve_refuses_bad_options(served_export, capsys):
    assert main(["serve", served_export.path, "--port", "70000"]) == 2
    assert main(["serve", served_export.path, "--max-batch-size", "0"]) == 2
    assert "max_batch_size" in capsys.readouterr().err
