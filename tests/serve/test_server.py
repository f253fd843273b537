"""The REST API of TF Serving over an export: status, metadata, predict in both formats."""

import numpy as np
import pytest

from tests.serve.conftest import Client


def test_status_has_tf_serving_shape(client):
    status, body = client.get()
    assert status == 200
    assert body == {
        "model_version_status": [
            {
                "version": "1",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }
    assert client.get("/versions/1") == (200, body)


def test_model_name_defaults_to_the_export_folder(server):
    assert server.model_name == "tiny"
    assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/v1/models/tiny")


def test_metadata_has_signature_defs_and_the_export_metadata(client, served_export):
    status, body = client.get("/metadata")
    assert status == 200
    assert body["model_spec"] == {"name": "tiny", "signature_name": "", "version": "1"}
    signatures = body["metadata"]["signature_def"]["signature_def"]
    assert {"serving_default", "serving_preprocessed", "preprocess"} <= set(signatures)
    default = signatures["serving_default"]
    assert default["method_name"] == "tensorflow/serving/predict"
    assert default["inputs"]["image"]["dtype"] == "DT_STRING"
    assert default["inputs"]["meta"]["tensor_shape"]["dim"] == [{"size": "-1"}, {"size": "2"}]
    assert default["outputs"]["label"]["dtype"] == "DT_STRING"
    mmkeras = body["metadata"]["mmkeras"]
    assert mmkeras["labels"] == {"label": ["bird", "cat", "dog"]}
    assert mmkeras["signatures"]["serving_default"]["inputs"]["audio"]["modality"] == "audio"


def test_predict_rows_match_the_saved_model(client, served_export):
    indices = [0, 1, 2, 3]  # JPEG and PNG images, WAV clips of different lengths
    status, body = client.predict({"instances": [served_export.instance(i) for i in indices]})
    assert status == 200, body
    direct = served_export.direct(served_export.raw(indices))
    predictions = body["predictions"]
    assert len(predictions) == len(indices)
    assert all(set(p) == {"probabilities", "label"} for p in predictions)
    np.testing.assert_allclose(
        [p["probabilities"] for p in predictions], direct["probabilities"], atol=1e-5
    )
    assert [p["label"] for p in predictions] == [v.decode() for v in direct["label"]]


def test_predict_columns_match_the_saved_model(client, served_export):
    indices = [4, 5]
    instances = [served_export.instance(i) for i in indices]
    inputs = {name: [inst[name] for inst in instances] for name in instances[0]}
    status, body = client.predict({"inputs": inputs, "signature_name": "serving_default"})
    assert status == 200, body
    direct = served_export.direct(served_export.raw(indices))
    np.testing.assert_allclose(body["outputs"]["probabilities"], direct["probabilities"], atol=1e-5)
    assert body["outputs"]["label"] == [v.decode() for v in direct["label"]]
    assert all(isinstance(label, str) for label in body["outputs"]["label"])


def test_predict_under_versions_1(client, served_export):
    status, body = client.predict(
        {"instances": [served_export.instance(0)]}, path="/versions/1:predict"
    )
    assert status == 200 and len(body["predictions"]) == 1


def test_absent_inputs_as_null(client, served_export):
    instance = {**served_export.instance(0), "audio": None, "text": ""}
    status, body = client.predict({"instances": [instance]})
    assert status == 200, body
    raw = served_export.raw([0])
    raw["audio"] = np.array([b""], dtype=object)
    raw["text"] = np.array([b""], dtype=object)
    np.testing.assert_allclose(
        body["predictions"][0]["probabilities"],
        served_export.direct(raw)["probabilities"][0],
        atol=1e-5,
    )


def test_other_signatures_by_name(client, served_export):
    status, body = client.predict(
        {"signature_name": "preprocess", "instances": [served_export.instance(1)]}
    )
    assert status == 200, body
    assert np.asarray(body["predictions"][0]["image"]).shape == (32, 32, 3)
    status, body = client.predict({"signature_name": "nope", "instances": [{}]})
    assert status == 400 and "signature 'nope' not found" in body["error"]


@pytest.mark.parametrize(
    "path, method, status",
    [
        ("/v1/models/other", "GET", 404),
        ("/v1/models/other:predict", "POST", 404),
        ("/v1/models/tiny/versions/2", "GET", 404),
        ("/v1/models/tiny/labels", "GET", 404),
        ("/somewhere/else", "GET", 404),
        ("/v1/models/tiny:predict", "GET", 405),
        ("/v1/models/tiny", "POST", 405),
        ("/v1/models/tiny:classify", "POST", 400),
    ],
)
def test_unknown_models_paths_and_methods(server, path, method, status):
    root = server.url[: server.url.index("/v1/")]
    got, body = Client(root).request(path, raw=b"{}" if method == "POST" else None, method=method)
    assert got == status
    assert isinstance(body["error"], str) and body["error"]


def test_stats_count_requests_and_calls(client, served_export):
    before = client.get("/stats")[1]
    client.predict({"instances": [served_export.instance(0)]})
    after = client.get("/stats")[1]
    assert after["batcher"]["requests"] == before["batcher"]["requests"] + 1
    assert after["signature_calls"] >= before["signature_calls"] + 1
    assert after["responses"]["200"] > before["responses"].get("200", 0)
