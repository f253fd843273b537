"""`Batcher` on a stand-in model: merging, splitting, retrying members alone, timeouts."""

import asyncio
import concurrent.futures
import threading

import numpy as np
import pytest

from mmkeras.serve import Batcher, ServingError


class Recorder:
    """A model stand-in: doubles `x`, refuses negative values, records each call's batch."""

    def __init__(self, gate=None):
        self.batches = []
        self.gate = gate
        self.lock = threading.Lock()

    def __call__(self, signature_name, arrays):
        if self.gate is not None:
            assert self.gate.wait(30)
        with self.lock:
            self.batches.append(len(arrays["x"]))
        if np.any(arrays["x"] < 0):
            raise ValueError(f"negative values in elements {np.flatnonzero(arrays['x'] < 0)}")
        return {"y": arrays["x"] * 2, "name": np.array([b"ok"] * len(arrays["x"]), dtype=object)}


def _run(coroutine_fn, timeout_s=30):
    async def bounded():
        return await asyncio.wait_for(coroutine_fn(), timeout_s)

    return asyncio.run(bounded())


@pytest.fixture
def executor():
    pool = concurrent.futures.ThreadPoolExecutor(2)
    yield pool
    pool.shutdown(wait=True, cancel_futures=True)


def _x(*values):
    return {"x": np.array(values, np.float32)}


class Gate:
    """Holds the model's first call (`x` == -100) until released: the server is busy."""

    def __init__(self):
        self.open = threading.Event()

    def wrap(self, model):
        def run(signature_name, arrays):
            if arrays["x"].size == 1 and arrays["x"].flat[0] == -100:
                assert self.open.wait(30)
                return {"y": arrays["x"], "name": np.array([b"busy"], dtype=object)}
            return model(signature_name, arrays)

        return run


async def _while_busy(batcher, gate, submit_all):
    """Runs `submit_all()` while a held call keeps the batcher busy, then releases it."""
    busy = asyncio.ensure_future(batcher.submit("s", _x(-100.0), 1))
    await asyncio.sleep(0)  # the held call takes a worker
    pending = asyncio.ensure_future(submit_all())
    await asyncio.sleep(0)  # every request has joined its group
    gate.open.set()
    await busy
    return await pending


def test_an_idle_batcher_runs_a_request_at_once(executor):
    model = Recorder()
    batcher = Batcher(model, executor, workers=1, window_s=60.0, max_batch_size=8)

    async def main():
        return await batcher.submit("s", _x(1.0), 1)

    assert _run(main, timeout_s=30)["y"].tolist() == [2.0]  # not after the 60 s window


def test_concurrent_requests_run_as_one_call_and_split_back(executor):
    model, gate = Recorder(), Gate()
    # The group closes when full (5 elements): no dependence on the window's timing.
    batcher = Batcher(gate.wrap(model), executor, workers=2, window_s=30.0, max_batch_size=5)
    requests = [_x(1.0), _x(2.0, 3.0), _x(4.0), _x(5.0)]

    async def main():
        return await _while_busy(
            batcher,
            gate,
            lambda: asyncio.gather(*(batcher.submit("s", r, len(r["x"])) for r in requests)),
        )

    results = _run(main)
    assert model.batches == [5]
    assert [r["y"].tolist() for r in results] == [[2.0], [4.0, 6.0], [8.0], [10.0]]
    assert [r["name"].tolist() for r in results] == [[b"ok"], [b"ok", b"ok"], [b"ok"], [b"ok"]]
    stats = batcher.stats
    assert stats["requests"] == 5 and stats["calls"] == 2 and stats["batched_requests"] == 4
    assert stats["largest_batch_elements"] == 5 and stats["split_batches"] == 0


def test_a_bad_member_fails_alone(executor):
    model, gate = Recorder(), Gate()
    batcher = Batcher(gate.wrap(model), executor, workers=1, window_s=30.0, max_batch_size=3)

    async def main():
        requests = [_x(1.0), _x(-1.0), _x(3.0)]
        return await _while_busy(
            batcher,
            gate,
            lambda: asyncio.gather(
                *(batcher.submit("s", r, 1) for r in requests), return_exceptions=True
            ),
        )

    good, bad, other = _run(main)
    assert good["y"].tolist() == [2.0] and other["y"].tolist() == [6.0]
    assert isinstance(bad, ValueError) and "elements [0]" in str(bad)  # its own index
    assert model.batches == [3, 1, 1, 1]
    assert batcher.stats["split_batches"] == 1


def test_different_structures_never_share_a_call(executor):
    model, gate = Recorder(), Gate()
    batcher = Batcher(gate.wrap(model), executor, workers=1, window_s=0.0, max_batch_size=8)

    async def main():
        return await _while_busy(
            batcher,
            gate,
            lambda: asyncio.gather(
                batcher.submit("s", _x(1.0), 1),
                batcher.submit("s", {"x": np.ones((1, 2), np.float32)}, 1),
                batcher.submit("t", _x(1.0), 1),
                batcher.submit("s", _x(2.0), 1),
            ),
        )

    _run(main)
    assert sorted(model.batches) == [1, 1, 2]


def test_max_batch_size_1_turns_batching_off(executor):
    model = Recorder()
    batcher = Batcher(model, executor, workers=2, window_s=0.0, max_batch_size=1)

    async def main():
        return await asyncio.gather(*(batcher.submit("s", _x(float(i)), 1) for i in range(6)))

    results = _run(main)
    assert model.batches == [1] * 6
    assert [r["y"][0] for r in results] == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert batcher.stats["batched_requests"] == 0


def test_requests_wait_for_a_busy_worker_and_join_one_batch(executor):
    gate = threading.Event()
    model = Recorder(gate)
    batcher = Batcher(model, executor, workers=1, window_s=0.0, max_batch_size=64)

    async def main():
        first = asyncio.ensure_future(batcher.submit("s", _x(0.0), 1))
        await asyncio.sleep(0)  # the first call takes the only worker
        rest = [asyncio.ensure_future(batcher.submit("s", _x(float(i)), 1)) for i in range(1, 5)]
        await asyncio.sleep(0)
        gate.set()
        return await asyncio.gather(first, *rest)

    results = _run(main)
    assert model.batches == [1, 4]
    assert [r["y"][0] for r in results] == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_a_cancelled_request_leaves_its_group(executor):
    gate = threading.Event()
    model = Recorder(gate)
    batcher = Batcher(model, executor, workers=1, window_s=0.0, max_batch_size=64)

    async def main():
        busy = asyncio.ensure_future(batcher.submit("s", _x(0.0), 1))
        await asyncio.sleep(0)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(batcher.submit("s", _x(9.0), 1), 0.01)
        kept = asyncio.ensure_future(batcher.submit("s", _x(2.0), 1))
        await asyncio.sleep(0)
        gate.set()
        return await asyncio.gather(busy, kept)

    busy, kept = _run(main)
    assert model.batches == [1, 1] and kept["y"].tolist() == [4.0]


def test_outputs_without_a_batch_axis_are_run_one_by_one(executor):
    def model(signature_name, arrays):
        return {"total": np.float32(arrays["x"].sum())}

    gate = Gate()
    batcher = Batcher(gate.wrap(model), executor, workers=1, window_s=30.0, max_batch_size=2)

    async def main():
        return await _while_busy(
            batcher,
            gate,
            lambda: asyncio.gather(
                batcher.submit("s", _x(1.0), 1), batcher.submit("s", _x(5.0), 1)
            ),
        )

    a, b = _run(main)
    assert float(a["total"]) == 1.0 and float(b["total"]) == 5.0
    assert batcher.stats["split_batches"] == 1


def test_close_fails_waiting_requests_with_503(executor):
    model, gate = Recorder(), Gate()
    batcher = Batcher(gate.wrap(model), executor, workers=1, window_s=30.0, max_batch_size=8)

    async def main():
        busy = asyncio.ensure_future(batcher.submit("s", _x(-100.0), 1))
        await asyncio.sleep(0)
        waiting = asyncio.ensure_future(batcher.submit("s", _x(1.0), 1))
        await asyncio.sleep(0)
        batcher.close()
        with pytest.raises(ServingError) as info:
            await waiting
        assert info.value.status == 503
        with pytest.raises(ServingError):
            await batcher.submit("s", _x(1.0), 1)
        gate.open.set()
        await busy  # a call already running finishes

    _run(main)
    assert model.batches == []


@pytest.mark.parametrize("kwargs", [{"workers": 0}, {"max_batch_size": 0}, {"window_s": -1.0}])
def test_arguments_are_checked(executor, kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        Batcher(Recorder(), executor, **kwargs)
