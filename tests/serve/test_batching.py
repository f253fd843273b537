"""Concurrent HTTP requests are batched into one signature call; a bad one fails alone.

The server's one model thread is held busy by a first request while the others arrive, so they
all wait in one batch (it closes when full); then the first call is released. Nothing depends
on timing.
"""

import concurrent.futures

import numpy as np
import pytest

from mmkeras.serve import Server
from tests.serve.conftest import Client, HeldModel, b64, wait_for

CLIENTS = 6


@pytest.fixture
def held(server):
    model = HeldModel(server.service.model)
    options = {"batch_window_ms": 60_000, "max_batch_size": CLIENTS, "workers": 1}
    try:
        with Server(model, port=0, timeout_s=120, **options) as held_server:
            yield held_server, model
    finally:
        model.release.set()


def _while_busy(held, served_export, bodies):
    """Sends `bodies` at once while a first request holds the model; their answers."""
    server, model = held
    client = Client(server.url)
    batcher = server.service.batcher
    with concurrent.futures.ThreadPoolExecutor(len(bodies) + 1) as pool:
        busy = pool.submit(client.predict, {"instances": [served_export.instance(0)]})
        try:
            assert model.entered.wait(60)
            answers = [pool.submit(client.predict, body) for body in bodies]
            assert wait_for(lambda: batcher.requests == 1 + len(bodies), timeout_s=60)
        finally:
            model.release.set()
        assert busy.result(120)[0] == 200
        return [answer.result(120) for answer in answers]


def test_concurrent_requests_share_one_call(held, served_export):
    indices = [i % len(served_export.rows) for i in range(CLIENTS)]
    answers = _while_busy(
        held, served_export, [{"instances": [served_export.instance(i)]} for i in indices]
    )
    assert [status for status, _ in answers] == [200] * CLIENTS
    direct = served_export.direct(served_export.raw(indices))
    got = [body["predictions"][0]["probabilities"] for _, body in answers]
    np.testing.assert_allclose(got, direct["probabilities"], atol=1e-5)
    assert [body["predictions"][0]["label"] for _, body in answers] == [
        label.decode() for label in direct["label"]
    ]
    stats = Client(held[0].url).get("/stats")[1]["batcher"]
    assert stats["calls"] == 2  # the held request, then all the others at once
    assert stats["largest_batch_requests"] == CLIENTS and stats["split_batches"] == 0


def test_a_bad_request_does_not_fail_its_neighbours(held, served_export):
    bodies = [{"instances": [served_export.instance(i % 6)]} for i in range(CLIENTS)]
    bad = 2
    bodies[bad] = {"instances": [{**served_export.instance(0), "image": b64(b"not an image")}]}
    answers = _while_busy(held, served_export, bodies)
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
    stats = Client(held[0].url).get("/stats")[1]["batcher"]
    assert stats["largest_batch_requests"] == CLIENTS and stats["split_batches"] == 1


def test_requests_of_several_elements_batch_too(held, served_export):
    bodies = [
        {"instances": [served_export.instance(0), served_export.instance(1)]},
        {"instances": [served_export.instance(2)]},
        {"inputs": {k: [v] * 3 for k, v in served_export.instance(3).items()}},
    ]
    answers = _while_busy(held, served_export, bodies)
    assert [status for status, _ in answers] == [200, 200, 200]
    assert len(answers[0][1]["predictions"]) == 2 and len(answers[1][1]["predictions"]) == 1
    assert len(answers[2][1]["outputs"]["label"]) == 3
    stats = Client(held[0].url).get("/stats")[1]["batcher"]
    assert stats["calls"] == 2 and stats["largest_batch_elements"] == CLIENTS


def test_batching_can_be_turned_off(server, served_export):
    with Server(server.service.model, port=0, batching=False) as plain:
        client = Client(plain.url)
        bodies = [{"instances": [served_export.instance(0)]}] * 4
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(client.predict, bodies, timeout=120))
        assert [status for status, _ in answers] == [200] * 4
        stats = client.get("/stats")[1]["batcher"]
    assert stats["batching"] is False
    assert stats["calls"] == 4 and stats["largest_batch_requests"] == 1
