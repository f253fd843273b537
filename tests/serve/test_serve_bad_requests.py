"""Every bad request gets a 4xx whose message says what is wrong; the server keeps serving."""

import base64
import http.client
import io
import json
import struct
import urllib.parse
import wave
import zlib

import numpy as np
import pytest

from tests.serve.conftest import HTTP_TIMEOUT_S, b64


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


def _wav(seconds, rate=8000, width=2):
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(b"\x01" * int(seconds * rate) * width)
    return buffer.getvalue()


def _good_request_still_works(client, served_export):
    status, body = client.predict({"instances": [served_export.instance(1)]})
    assert status == 200, body
    assert body["predictions"][0]["label"] in ("bird", "cat", "dog")


def _with(served_export, **changes):
    return {"instances": [{**served_export.instance(0), **changes}, served_export.instance(1)]}


# (case id, request body or a function of the export giving it, input named, words in the message)
FORMAT_CASES = [
    ("malformed json", b'{"instances": [', None, "malformed JSON"),
    ("body not utf-8", b'{"instances": [{"text": "\xff\xfe"}]}', None, "not UTF-8"),
    ("empty body", b"", None, "empty"),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, None, "nested too deeply"),
    ("not an object", [1, 2], None, "JSON object"),
    ("neither key", {"rows": []}, None, "neither `instances`"),
    ("both keys", {"instances": [], "inputs": {}}, None, "both `instances` and `inputs`"),
    ("instances not a list", {"instances": {"a": 1}}, None, "must be a list"),
    ("empty instances", {"instances": []}, None, "the batch is empty"),
    ("instance not an object", {"instances": ["a cat"]}, None, "must be an object"),
    ("signature name type", {"instances": [{}], "signature_name": 3}, None, "signature_name"),
    ("unknown input", lambda e: _with(e, colour="red"), "colour", "unknown input"),
    (
        "missing input",
        lambda e: {"instances": [{k: v for k, v in e.instance(0).items() if k != "audio"}]},
        "audio",
        "is missing",
    ),
    ("bad b64", lambda e: _with(e, image={"b64": "not base64!"}), "image", "invalid base64"),
    ("b64 not a string", lambda e: _with(e, image={"b64": 12}), "image", "base64 string"),
    ("image path", lambda e: _with(e, image="/etc/passwd"), "image", "not a path"),
    ("audio path", lambda e: _with(e, audio="../clip0.wav"), "audio", "not a path"),
    ("text number", lambda e: _with(e, text=12), "text", "takes strings"),
    ("image list", lambda e: _with(e, image=[1, 2]), "image", "takes file bytes"),
    ("lone surrogate", lambda e: _with(e, text="\ud800"), "text", "UTF-8"),
    ("tabular width", lambda e: _with(e, meta=[1.0, 2.0, 3.0]), "meta", "takes 2 values"),
    ("tabular text", lambda e: _with(e, meta=["a", "b"]), "meta", "takes numbers"),
    ("tabular bool", lambda e: _with(e, meta=[True, False]), "meta", "takes numbers"),
    ("tabular ragged", lambda e: _with(e, meta=[[1.0], 2.0]), "meta", "takes numbers"),
    (
        "columns of different sizes",
        lambda e: {
            "inputs": {
                **{k: [v, v] for k, v in e.instance(0).items()},
                "text": ["a cat"],
            }
        },
        "text",
        "has 1 elements",
    ),
    (
        "empty columns",
        lambda e: {"inputs": {k: [] for k in e.instance(0)}},
        None,
        "the batch is empty",
    ),
    (
        "column not a list",
        lambda e: {"inputs": {**{k: [v] for k, v in e.instance(0).items()}, "text": "a cat"}},
        "text",
        "must be a list",
    ),
]


@pytest.mark.parametrize(
    "body, name, words", [c[1:] for c in FORMAT_CASES], ids=[c[0] for c in FORMAT_CASES]
)
def test_bad_request_format(client, served_export, body, name, words):
    if callable(body):
        body = body(served_export)
    if isinstance(body, bytes):
        status, answer = client.predict(raw=body)
    else:
        status, answer = client.predict(body)
    assert status == 400, answer
    assert words in answer["error"]
    if name is not None:
        assert f"`{name}`" in answer["error"]
    _good_request_still_works(client, served_export)


def _model_cases(e):
    jpeg = e.read(e.rows[0]["image"])
    return {
        "not an image": ("image", b"this is not an image"),
        "damaged jpeg": ("image", jpeg[:80]),
        "png claiming 20000x20000": ("image", _png_claiming(20000, 20000)),
        "not a wav": ("audio", b"ID3\x03 an mp3 file"),
        "8-bit wav": ("audio", _wav(0.5, width=1)),
        "long wav": ("audio", _wav(30.0)),
        "non-utf-8 text": ("text", b"caf\xe9 \xff\xfe"),
    }


MODEL_CASES = [
    "not an image",
    "damaged jpeg",
    "png claiming 20000x20000",
    "not a wav",
    "8-bit wav",
    "long wav",
    "non-utf-8 text",
]


@pytest.mark.parametrize("case", MODEL_CASES)
def test_inputs_the_model_refuses(client, served_export, case):
    """The server answers what the SavedModel's own checks say: 400, naming the input.

    Inputs the export does not refuse (a check not in this export) are served like the
    SavedModel serves them, and the test says so.
    """
    name, data = _model_cases(served_export)[case]
    raw = served_export.raw([0, 1])
    raw[name] = np.array([data, raw[name][1]], dtype=object)
    direct = served_export.direct(raw)
    body = _with(served_export, **{name: b64(data)})
    status, answer = client.predict(body)
    _good_request_still_works(client, served_export)
    if isinstance(direct, dict):
        assert status == 200, answer
        pytest.skip(f"this export does not refuse {case!r}; the server served it like the model")
    assert status == 400, answer
    assert f"`{name}`" in answer["error"], answer["error"]
    assert "[[{{node" not in answer["error"] and "Op:__inference" not in answer["error"]


def test_partly_nan_tabular_row_names_the_input_and_element(client, served_export):
    body = {
        "instances": [served_export.instance(0), {**served_export.instance(1), "meta": [1.0, None]}]
    }
    status, answer = client.predict(body)
    assert status == 400
    assert "`meta`" in answer["error"] and "elements 1" in answer["error"]
    _good_request_still_works(client, served_export)


def test_every_input_absent_is_refused(client, served_export):
    instance = {"image": None, "text": "", "audio": None, "meta": None}
    status, answer = client.predict({"instances": [instance]})
    assert status == 400 and "every input is empty" in answer["error"]
    _good_request_still_works(client, served_export)


def test_element_indices_are_the_request_s_own(client, served_export):
    instances = [served_export.instance(i) for i in range(3)]
    instances[2]["image"] = b64(b"garbage")
    status, answer = client.predict({"instances": instances})
    assert status == 400
    assert "`image`" in answer["error"] and "elements 2" in answer["error"]


def test_oversized_body_gets_413(client, served_export):
    big = {"instances": [{**served_export.instance(0), "text": "x" * (2 * 1024 * 1024)}]}
    status, answer = client.predict(big)
    assert status == 413 and "larger than the limit of 1 MiB" in answer["error"]
    _good_request_still_works(client, served_export)


def test_too_many_elements_get_413(client, served_export):
    instance = {"image": None, "text": "a", "audio": None, "meta": None}
    status, answer = client.predict({"instances": [instance] * 1025})
    assert (
        status == 413 and "1025 elements" in answer["error"] and "at most 1024" in answer["error"]
    )
    _good_request_still_works(client, served_export)


def test_oversized_chunked_body_gets_413(server, client, served_export):
    url = urllib.parse.urlsplit(server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=HTTP_TIMEOUT_S)
    chunks = (b"x" * (256 * 1024) for _ in range(8))  # 2 MiB, no Content-Length
    try:
        connection.request("POST", url.path + ":predict", body=chunks, encode_chunked=True)
        response = connection.getresponse()
        assert response.status == 413
        assert "larger than the limit" in json.loads(response.read())["error"]
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may close the connection before the client finished sending
    finally:
        connection.close()
    _good_request_still_works(client, served_export)


def test_huge_base64_inside_the_limit_is_a_plain_bad_request(client, served_export):
    data = base64.b64encode(b"\0" * 600_000).decode()
    status, answer = client.predict(_with(served_export, image={"b64": data}))
    assert status == 400 and "`image`" in answer["error"]
    _good_request_still_works(client, served_export)
