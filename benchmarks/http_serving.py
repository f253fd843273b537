"""HTTP serving (`mmkeras serve`): batching on vs off, and the server's memory under attack inputs.

Compares, side by side in one run, two `mmkeras serve` processes serving one export on loopback:

- `batching`: the default, concurrent requests arriving within `--batch-window-ms` (2 ms) of
  each other (or while both model threads are busy) run as one call of the signature;
- `no batching`: `--no-batching`, each request is its own call.

Load: a fixed number of `:predict` requests, each one instance in TF Serving's row format
(a 64x48 JPEG or PNG and a 0.5-0.9 s 8 kHz WAV as b64, a six-word text), sent by N concurrent
clients (aiohttp, keep-alive) from this process; rounds alternate between the two servers.
Reports requests/s, p50 / p99 latency (ms) per configuration and the batching / no-batching
ratios, and the servers' resident memory.

Then attack inputs, one request at a time against the batching server: its peak resident
memory (VmHWM, reset before each request) above its memory before, the answer and its time;
afterwards a good request must still be answered.

Model: as `benchmarks/serving.py` (image_cnn (16, 32) on 64x64, text_rnn GRU 32,
audio_cnn (16, 32) on 0.5 s, concat fusion, 3 classes), exported by `mmkeras.export`.

Run: `python benchmarks/http_serving.py [--requests 400] [--clients 1 16] [--rounds 2]`
(Linux: reads /proc/PID/status; about 3 minutes on 2 cores.)
"""

import argparse
import asyncio
import base64
import io
import itertools
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import wave
import zlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import numpy as np  # noqa: E402

WORDS = "a the cat dog bird runs sings red big small on tree".split()
START_TIMEOUT_S = 300


def _b64(data):
    return {"b64": base64.b64encode(data).decode("ascii")}


def _wav(samples, rate=8000, width=2):
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(samples)
    return buffer.getvalue()


def _png_claiming(width, height):
    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _wav_claiming(num_bytes, rate=8000):
    """A WAV header whose data chunk claims `num_bytes`, followed by 1 KiB of samples."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + num_bytes)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", num_bytes)
        + b"\0" * 1024
    )


def _instances(n, seed=0):
    import cv2

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        ext = ".jpg" if i % 2 == 0 else ".png"
        ok, image = cv2.imencode(ext, rng.integers(0, 255, (48, 64, 3), np.uint8))
        samples = rng.normal(0, 3000, 4000 + 40 * i).astype(np.int16).tobytes()
        out.append(
            {
                "image": image.tobytes(),
                "text": " ".join(rng.choice(WORDS, 6)),
                "audio": _wav(samples),
                "label": ["bird", "cat", "dog"][i % 3],
            }
        )
    return out


def _export(work, instances):
    import csv

    from serving import bench_model  # benchmarks/serving.py: the same small model

    import mmkeras as mk

    rows = []
    for i, inst in enumerate(instances):
        ext = ".jpg" if inst["image"][:2] == b"\xff\xd8" else ".png"
        with open(os.path.join(work, f"img{i}{ext}"), "wb") as f:
            f.write(inst["image"])
        with open(os.path.join(work, f"clip{i}.wav"), "wb") as f:
            f.write(inst["audio"])
        rows.append(
            {
                "image": f"img{i}{ext}",
                "text": inst["text"],
                "audio": f"clip{i}.wav",
                "label": inst["label"],
            }
        )
    manifest = os.path.join(work, "manifest.csv")
    with open(manifest, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    model, pipe = bench_model(manifest)
    return mk.export.saved_model(model, pipe, os.path.join(work, "bench"))


class ServerProcess:
    """`mmkeras serve EXPORT --port 0 [options]` in a subprocess; its URL and memory."""

    def __init__(self, export_dir, *options):
        env = {**os.environ, "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", "")}
        command = [sys.executable, "-m", "mmkeras", "serve", export_dir, "--port", "0", *options]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
        )
        self.url = None
        found = threading.Event()

        def read():
            for line in self.process.stdout:
                match = re.search(r"status:\s+GET\s+(\S+)$", line)
                if match and self.url is None:
                    self.url = match.group(1)
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(START_TIMEOUT_S):
            self.stop()
            raise RuntimeError(f"`{' '.join(command)}` printed no URL in {START_TIMEOUT_S} s")

    def memory_mib(self):
        """(current resident, peak resident) in MiB."""
        with open(f"/proc/{self.process.pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

    def stats(self):
        import urllib.request

        with urllib.request.urlopen(self.url + "/stats", timeout=60) as response:
            return json.loads(response.read())

    def reset_peak(self):
        with open(f"/proc/{self.process.pid}/clear_refs", "w") as f:
            f.write("5")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)


async def _load(url, bodies, total, clients):
    import aiohttp

    latencies, statuses, counter = [], {}, itertools.count()
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=clients)
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def client():
            while (i := next(counter)) < total:
                start = time.perf_counter()
                async with session.post(url, data=bodies[i % len(bodies)], headers=headers) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                latencies.append((time.perf_counter() - start) * 1000)

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        wall = time.perf_counter() - start
    return {
        "rps": total / wall,
        "p50": float(np.percentile(latencies, 50)),
        "p99": float(np.percentile(latencies, 99)),
        "statuses": statuses,
    }


def _post(url, body, timeout_s=120):
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (ConnectionError, OSError) as e:
        return None, str(e).encode()


def _attacks(good):
    """(name, body bytes or list of bodies sent at once) of the attack requests."""
    import cv2

    def with_(**changes):
        return json.dumps({"instances": [{**good, **changes}]}).encode()

    ok, big_png = cv2.imencode(".png", np.zeros((6000, 6000, 3), np.uint8))
    big_png = big_png.tobytes()
    long_wav = _wav(np.zeros(20 * 1024 * 1024 // 2, np.int16).tobytes())
    numbers = b'{"instances": [' + b"0," * (15 * 1024 * 1024) + b"0]}"
    many = json.dumps({"instances": [{**good, "image": _b64(big_png)}] * 50}).encode()
    text = " ".join(["word"] * (4 * 1024 * 1024))
    tiny = json.dumps(
        {"instances": [{"image": _b64(b"\0"), "text": "a", "audio": _b64(b"\0")}] * 5000}
    ).encode()
    return [
        ("PNG header claiming 20000x20000 (110 B)", with_(image=_b64(_png_claiming(20000, 20000)))),
        (
            f"PNG 6000x6000 under the pixel limit ({len(big_png) // 1024} KiB)",
            with_(image=_b64(big_png)),
        ),
        (f"50 of those PNGs in one request ({len(many) >> 20} MiB JSON)", many),
        (
            f"WAV of {len(long_wav) / 16000:.0f} s ({len(long_wav) >> 20} MiB)",
            with_(audio=_b64(long_wav)),
        ),
        ("WAV header claiming 2 GiB (1 KiB sent)", with_(audio=_b64(_wav_claiming(2**31 - 64)))),
        (f"text of {len(text) >> 20} MiB, 4M words", with_(text=text)),
        (f"JSON of {len(numbers) >> 20} MiB: 15M numbers", numbers),
        ("body of 40 MiB (over the 32 MiB limit)", b" " * (40 << 20)),
        (f"5000 tiny instances ({len(tiny) >> 10} KiB JSON)", tiny),
        ("8 concurrent JSON bodies of 30 MiB", [numbers] * 8),
    ]


def _attack(server, name, body, good_body):
    server.reset_peak()
    time.sleep(0.2)
    before, _ = server.memory_mib()
    start = time.perf_counter()
    if isinstance(body, list):
        results = [None] * len(body)

        def send(i):
            results[i] = _post(server.url + ":predict", body[i])

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(body))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        status = ",".join(sorted({str(r[0]) for r in results if r}))
        answer = results[0][1] if results[0] else b""
    else:
        status, answer = _post(server.url + ":predict", body)
    seconds = time.perf_counter() - start
    # A request answered 504 keeps its model thread busy until TensorFlow returns: wait, so
    # that work is counted here and not in the next request's figures.
    deadline = time.monotonic() + 600
    while server.stats()["batcher"]["running_calls"] and time.monotonic() < deadline:
        time.sleep(0.2)
    busy = time.perf_counter() - start
    _, peak = server.memory_mib()
    try:
        message = json.loads(answer).get("error", "(predictions)")
    except ValueError:
        message = answer[:80].decode("utf-8", "replace")
    good_status, _ = _post(server.url + ":predict", good_body)
    print(
        f"{name:<46} | {peak - before:>9.0f} | {status!s:>6} | {seconds:>6.2f} | {busy:>6.2f} | "
        f"{good_status!s:>4} | {message[:100]}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per measurement")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per setting")
    args = parser.parse_args()

    import tensorflow as tf

    work = tempfile.mkdtemp(prefix="mmkeras-http-serving-")
    instances = _instances(32)
    path = _export(work, instances)
    bodies = [
        json.dumps(
            {
                "instances": [
                    {"image": _b64(i["image"]), "text": i["text"], "audio": _b64(i["audio"])}
                ]
            }
        ).encode()
        for i in instances
    ]
    servers = {
        "batching": ServerProcess(path),
        "no batching": ServerProcess(path, "--no-batching"),
    }
    try:
        print(
            f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores (shared), loopback; "
            f"{args.requests} requests per measurement, {args.rounds} alternating rounds; "
            "servers: --workers 2, --batch-window-ms 2, --max-batch-size 64"
        )
        for server in servers.values():  # warm-up: first calls, connections
            asyncio.run(_load(server.url + ":predict", bodies, 32, 4))
        rss = {name: server.memory_mib()[0] for name, server in servers.items()}
        print(f"resident memory after start-up: {rss['batching']:.0f} MiB per server")
        print(
            f"{'clients':>7} | {'setting':<11} | {'req/s':>7} | {'p50 ms':>7} | {'p99 ms':>7} | "
            "statuses"
        )
        for clients in args.clients:
            results = {name: [] for name in servers}
            for _ in range(args.rounds):
                for name, server in servers.items():
                    results[name].append(
                        asyncio.run(_load(server.url + ":predict", bodies, args.requests, clients))
                    )
            summary = {}
            for name, runs in results.items():
                statuses = {}
                for run in runs:
                    for k, v in run["statuses"].items():
                        statuses[k] = statuses.get(k, 0) + v
                summary[name] = {
                    k: float(np.median([r[k] for r in runs])) for k in ("rps", "p50", "p99")
                }
                s = summary[name]
                print(
                    f"{clients:>7} | {name:<11} | {s['rps']:>7.1f} | {s['p50']:>7.1f} | "
                    f"{s['p99']:>7.1f} | {statuses}"
                )
            on, off = summary["batching"], summary["no batching"]
            print(
                f"{clients:>7} | {'ratio':<11} | {on['rps'] / off['rps']:>7.2f} | "
                f"{on['p50'] / off['p50']:>7.2f} | {on['p99'] / off['p99']:>7.2f} | "
                "batching / no batching"
            )
        peaks = {name: server.memory_mib()[1] for name, server in servers.items()}
        print(
            "peak resident memory after the load: "
            + ", ".join(f"{name} {mib:.0f} MiB" for name, mib in peaks.items())
        )
        servers["no batching"].stop()
        print()
        print(
            "attack inputs, one request each, batching server (limits: defaults); peak +MiB: "
            "peak resident memory above the memory before; answer: seconds to the answer; busy: "
            "seconds until the model thread was free again; next: status of a good request after"
        )
        print(
            f"{'request':<46} | {'peak +MiB':>9} | {'status':>6} | {'answer':>6} | {'busy':>6} | "
            f"{'next':>4} | message"
        )
        good = json.loads(bodies[0])["instances"][0]
        for name, body in _attacks(good):
            _attack(servers["batching"], name, body, bodies[0])
    finally:
        for server in servers.values():
            server.stop()


if __name__ == "__main__":
    main()
