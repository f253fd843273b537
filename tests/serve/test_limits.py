"""Overload (503), timeout (504) and option checks, on a model whose calls a test holds."""

import concurrent.futures

import pytest

from mmkeras.serve import ServedModel, Server
from tests.serve.conftest import Client, HeldModel, wait_for


def test_overloaded_server_answers_503_and_recovers(server, served_export):
    model = HeldModel(server.service.model)
    body = {"instances": [served_export.instance(0)]}
    with Server(model, port=0, max_concurrent_requests=1, overload_wait_s=0.05) as held:
        client = Client(held.url)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            first = pool.submit(client.predict, body)
            try:
                assert model.entered.wait(30)
                status, answer = client.predict(body)
                assert status == 503 and "overloaded" in answer["error"]
            finally:
                model.release.set()
            assert first.result(60)[0] == 200
        assert client.predict(body)[0] == 200
        assert client.get("/stats")[1]["responses"]["503"] == 1


def test_slow_request_answers_504_and_the_server_keeps_serving(server, served_export):
    model = HeldModel(server.service.model)
    body = {"instances": [served_export.instance(0)]}
    with Server(model, port=0, timeout_s=0.2) as held:
        client = Client(held.url)
        try:
            status, answer = client.predict(body)
            assert status == 504 and "did not finish within 0.2 s" in answer["error"]
        finally:
            model.release.set()
        held.service.timeout_s = 60.0
        assert client.predict(body)[0] == 200


def test_large_requests_are_served_two_at_a_time(server, served_export):
    model = HeldModel(server.service.model)
    # Over 256 KiB each: read, parsed and run at most two at a time.
    body = {"instances": [{**served_export.instance(0), "text": "word " * 60_000}]}
    with Server(model, port=0, workers=2, timeout_s=120) as held:
        client = Client(held.url)
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            answers = [pool.submit(client.predict, body) for _ in range(3)]
            try:
                assert wait_for(lambda: held.service.batcher.requests == 2, timeout_s=60)
                # The third waits, unread, until one of the first two has its answer.
                assert not wait_for(lambda: held.service.batcher.requests > 2, timeout_s=0.5)
            finally:
                model.release.set()
            assert [a.result(120)[0] for a in answers] == [200, 200, 200]
        assert held.service.batcher.requests == 3


@pytest.mark.parametrize(
    "option, value",
    [
        ("max_request_mb", 0),
        ("max_batch_size", 0),
        ("timeout_s", -1),
        ("workers", 0),
        ("batch_window_ms", -2),
        ("max_concurrent_requests", True),
    ],
)
def test_options_are_checked(server, option, value):
    with pytest.raises(ValueError, match=option):
        Server(server.service.model, port=0, **{option: value})


def test_model_name_is_checked(server):
    with pytest.raises(ValueError, match="model_name"):
        Server(server.service.model, port=0, model_name="a/b")


def test_a_missing_export_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved_model.pb"):
        ServedModel(tmp_path)


def test_an_error_forgets_the_data_its_frames_held():
    import weakref

    from mmkeras.serve import ServingError
    from mmkeras.serve.server import _forget_frames

    class Parsed:
        pass

    refs = []

    def parse():
        parsed = Parsed()  # stands for a large parsed body
        refs.append(weakref.ref(parsed))
        try:
            raise ValueError("inner")
        except ValueError:
            raise ServingError(400, "bad request") from None

    try:
        parse()
    except ServingError as e:
        error = e
    assert refs[0]() is not None  # held by the traceback's frame
    _forget_frames(error)
    assert refs[0]() is None
    assert error.status == 400
