"""An image + text + audio + tabular export served on loopback, and a small HTTP client."""

import base64
import csv
import inspect
import json
import os
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from mmkeras.serve import ServedModel
from tests.export.conftest import write_dataset

# Bounds every request a test makes.
HTTP_TIMEOUT_S = 60


def b64(data):
    return {"b64": base64.b64encode(data).decode("ascii")}


class Client:
    """Requests to one model of a server; answers `(status, decoded JSON)`."""

    def __init__(self, url):
        self.url = url

    def request(self, path="", body=None, raw=None, method=None, headers=None):
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def get(self, path=""):
        return self.request(path)

    def predict(self, body=None, raw=None, path=":predict"):
        return self.request(path, body=body, raw=raw, method="POST")


class HeldModel(ServedModel):
    """A loaded `ServedModel` whose calls wait until the test releases them (30 s at most).

    `entered` is set when the first call starts: the server is then busy.
    """

    def __init__(self, model):
        self.__dict__.update(model.__dict__)
        self.release = threading.Event()
        self.entered = threading.Event()

    def run(self, signature_name, arrays):
        self.entered.set()
        self.release.wait(30)
        return super().run(signature_name, arrays)


def wait_for(condition, timeout_s=30):
    """Polls `condition()` until it holds (True) or `timeout_s` passes (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def _spec(cls, **kwargs):
    # Input limits (`max_duration`, ...) are passed where this version of the spec has them.
    names = inspect.signature(cls).parameters
    return cls(**{k: v for k, v in kwargs.items() if k in names})


class ServedExport:
    """The export, its data, the raw rows, and the SavedModel loaded directly for comparison."""

    def __init__(self, root, rows, path):
        self.root, self.rows, self.path = root, rows, path
        self._signature = None

    def read(self, name):
        with open(os.path.join(self.root, name), "rb") as f:
            return f.read()

    def instance(self, i):
        """Row `i` as a TF Serving instance (file bytes as b64)."""
        row = self.rows[i]
        return {
            "image": b64(self.read(row["image"])),
            "text": row["caption"],
            "audio": b64(self.read(row["audio"])),
            "meta": [float(row["a"]), float(row["b"])],
        }

    def raw(self, indices):
        """Rows as the raw tensors of `serving_default` (numpy)."""
        rows = [self.rows[i] for i in indices]
        return {
            "image": np.array([self.read(r["image"]) for r in rows], dtype=object),
            "text": np.array([r["caption"].encode() for r in rows], dtype=object),
            "audio": np.array([self.read(r["audio"]) for r in rows], dtype=object),
            "meta": np.array([[float(r["a"]), float(r["b"])] for r in rows], np.float32),
        }

    def direct(self, raw):
        """`serving_default` called directly: outputs as numpy, or the error it raised."""
        import tensorflow as tf

        if self._signature is None:
            import tensorflow_text  # noqa: F401

            self._signature = tf.saved_model.load(self.path).signatures["serving_default"]
        try:
            out = self._signature(**{k: tf.constant(v) for k, v in raw.items()})
        except tf.errors.InvalidArgumentError as e:
            return e
        return {k: v.numpy() for k, v in out.items()}


@pytest.fixture(scope="session")
def served_export(tmp_path_factory):
    import mmkeras as mk

    root = str(tmp_path_factory.mktemp("serve_data"))
    manifest, rows = write_dataset(root)
    rng = np.random.default_rng(1)
    for row in rows:
        row["a"], row["b"] = (f"{v:.4f}" for v in rng.normal(size=2))
    with open(manifest, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    pipe = mk.data.Pipeline(
        schema={
            "image": "image",
            "text": "caption",
            "audio": "audio",
            "meta": ["a", "b"],
            "label": "label",
        },
        image=mk.data.ImageSpec(size=(32, 32)),
        text=mk.data.TextSpec(max_length=8, vocab_size=50),
        audio=_spec(mk.data.AudioSpec, sample_rate=8000, duration=0.25, max_duration=5.0),
        specs={"meta": mk.data.TabularSpec()},
        allow_missing=True,
    )
    pipe.adapt(manifest)
    model = mk.build_model(
        branches={
            "image": mk.branches.image_cnn(input_shape=(32, 32, 3), filters=(4,), output_dim=8),
            "text": mk.branches.text_rnn(
                vocab_size=pipe.vocab_size("text"), embedding_dim=8, units=8, output_dim=8
            ),
            "audio": mk.branches.audio_cnn(
                sample_rate=8000, duration=0.25, n_mels=16, filters=(4,), output_dim=8
            ),
            "meta": mk.branches.tabular_mlp(num_features=2, hidden_units=(4,), output_dim=4),
        },
        task=mk.tasks.Classification(num_classes=3),
    )
    path = os.path.join(str(tmp_path_factory.mktemp("serve_out")), "tiny")
    mk.export.saved_model(model, pipe, path)
    return ServedExport(root, rows, path)


@pytest.fixture(scope="session")
def server(served_export):
    """The export served on 127.0.0.1 (any free port), with a 1 MiB body limit."""
    from mmkeras.serve import Server

    server = Server(served_export.path, port=0, max_request_mb=1, timeout_s=60).start()
    yield server
    server.stop()


@pytest.fixture
def client(server):
    return Client(server.url)
