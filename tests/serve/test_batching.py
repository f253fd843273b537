"""Concurrent HTTP requests are batched into one signature call; a bad one fails alone."""

import concurrent.futures
import threading

import numpy as np
import pytest

from tests.serve.conftest import Client, b64

CLIENTS = 6


@pytest.fixture(scope="module")
def batching_server(server):
    """A second server on the same loaded model whose batches close when CLIENTS requests came.

    The long window only bounds the wait: the batch is full, and runs, once every client's
    request has arrived.
    """
    from mmkeras.serve import Server

    second = Server(
        server.service.model, port=0, batch_window_ms=10_000, max_batch_size=CLIENTS, timeout_s=60
    ).start()
    yield second
    second.stop()


def _concurrently(client, bodies):
    start = threading.Barrier(len(bodies), timeout=60)

    def send(body):
        start.wait()
        return client.predict(body)

    with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(send, bodies, timeout=120))


def test_concurrent_requests_share_one_call(batching_server, served_export):
    client = Client(batching_server.url)
    before = client.get("/stats")[1]["batcher"]
    indices = [i % len(served_export.rows) for i in range(CLIENTS)]
    answers = _concurrently(client, [{"instances": [served_export.instance(i)]} for i in indices])
    assert [status for status, _ in answers] == [200] * CLIENTS
    direct = served_export.direct(served_export.raw(indices))
    got = [body["predictions"][0]["probabilities"] for _, body in answers]
    np.testing.assert_allclose(got, direct["probabilities"], atol=1e-5)
    after = client.get("/stats")[1]["batcher"]
    assert after["requests"] - before["requests"] == CLIENTS
    assert after["calls"] - before["calls"] < CLIENTS
    assert after["largest_batch_requests"] >= 2


def test_a_bad_request_does_not_fail_its_neighbours(batching_server, served_export):
    client = Client(batching_server.url)
    before = client.get("/stats")[1]["batcher"]
    bodies = [{"instances": [served_export.instance(i % 6)]} for i in range(CLIENTS)]
    bad = 2
    bodies[bad] = {"instances": [{**served_export.instance(0), "image": b64(b"not an image")}]}
    answers = _concurrently(client, bodies)
    for i, (status, body) in enumerate(answers):
        if i == bad:
            assert status == 400 and "`image`" in body["error"]
            assert "elements 0" in body["error"]  # its own element, not its place in the batch
        else:
            assert status == 200, body
            direct = served_export.direct(served_export.raw([i % 6]))
            np.testing.assert_allclose(
                body["predictions"][0]["probabilities"], direct["probabilities"][0], atol=1e-5
            )
    after = client.get("/stats")[1]["batcher"]
    assert after["split_batches"] - before["split_batches"] >= 1


def test_requests_of_several_elements_batch_too(batching_server, served_export):
    client = Client(batching_server.url)
    bodies = [
        {"instances": [served_export.instance(0), served_export.instance(1)]},
        {"instances": [served_export.instance(2)]},
        {"inputs": {k: [v] * 3 for k, v in served_export.instance(3).items()}},
    ]
    answers = _concurrently(client, bodies)
    assert [status for status, _ in answers] == [200, 200, 200]
    assert len(answers[0][1]["predictions"]) == 2 and len(answers[1][1]["predictions"]) == 1
    assert len(answers[2][1]["outputs"]["label"]) == 3


def test_batching_can_be_turned_off(server, served_export):
    from mmkeras.serve import Server

    with Server(server.service.model, port=0, batching=False) as plain:
        client = Client(plain.url)
        answers = _concurrently(client, [{"instances": [served_export.instance(0)]}] * 4)
        assert [status for status, _ in answers] == [200] * 4
        stats = client.get("/stats")[1]["batcher"]
    assert stats["batching"] is False
    assert stats["calls"] == 4 and stats["largest_batch_requests"] == 1
