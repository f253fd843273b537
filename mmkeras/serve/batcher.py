"""`Batcher`: concurrent requests of the same structure, run as one call of the signature."""

import asyncio
import collections
import threading

import numpy as np

from mmkeras.serve.serving_error import ServingError


class _Member:
    __slots__ = ("arrays", "size", "future")

    def __init__(self, arrays, size, future):
        self.arrays = arrays
        self.size = size
        self.future = future


class _Group:
    """Requests that will run as one call: same signature, input names, dtypes, element shapes."""

    def __init__(self, key):
        self.key = key
        self.members = []
        self.size = 0
        self.timer = None
        self.ready = False


def structure_key(signature_name, arrays):
    """What two requests must share to be concatenated along the batch axis."""
    return (
        signature_name,
        tuple((name, a.dtype.str, a.shape[1:]) for name, a in sorted(arrays.items())),
    )


class Batcher:
    """Runs requests in a thread pool, merging concurrent ones into one call.

    A request that arrives while a call is running opens a group that others of the same
    structure (signature, input names, dtypes and element shapes) join for `window_s` seconds,
    up to `max_batch_size` elements; on an idle server it runs at once. Then the group is
    ready; while every worker is busy it keeps taking requests (so batches grow with the load,
    at no added latency when the server is idle). A ready group's inputs are
    concatenated along the batch axis, the signature is called once, and its outputs are split
    back. When the call fails, each member is run alone, so only a bad request gets its error
    and its neighbours their predictions. `max_batch_size=1` turns batching off (each request
    is one call, still queued for the `workers` threads).

    Args:
        run: callable `(signature_name, arrays) -> {output name: numpy array}`, called in
            `executor` threads.
        executor: `concurrent.futures.Executor` with `workers` threads.
        workers: int, calls in flight at once.
        window_s: float, how long the first request of a group waits for others.
        max_batch_size: int, the most elements in one call.

    Example:
    >>> import asyncio, concurrent.futures
    >>> served = mmkeras.serve.ServedModel("exported/")
    >>> executor = concurrent.futures.ThreadPoolExecutor(2)
    >>> batcher = Batcher(served.run, executor, workers=2, window_s=0.002, max_batch_size=64)
    >>> raw = {"image": np.array([open("cat.jpg", "rb").read()], object),  # file bytes
    ...        "text": np.array([b"a cat"], object),
    ...        "audio": np.array([open("cat.wav", "rb").read()], object)}
    >>> async def predict(arrays):  # in a request handler
    ...     return await batcher.submit("serving_default", arrays, size=len(arrays["text"]))
    >>> asyncio.run(predict(raw))["probabilities"].shape
    (1, 2)
    >>> batcher.close()
    >>> executor.shutdown()
    """

    def __init__(self, run, executor, workers=1, window_s=0.002, max_batch_size=64):
        if workers < 1:
            raise ValueError(f"Batcher: `workers` must be >= 1, received {workers!r}.")
        if max_batch_size < 1:
            raise ValueError(
                f"Batcher: `max_batch_size` must be >= 1, received {max_batch_size!r}."
            )
        if window_s < 0:
            raise ValueError(f"Batcher: `window_s` must be >= 0, received {window_s!r}.")
        self.run = run
        self.executor = executor
        self.workers = int(workers)
        self.window_s = float(window_s)
        self.max_batch_size = int(max_batch_size)
        self._open = {}
        self._ready = collections.deque()
        self._running = 0
        self._tasks = set()
        self._lock = threading.Lock()
        self._closed = False
        self.requests = 0
        self.calls = 0
        self.batched_requests = 0
        self.largest_batch_requests = 0
        self.largest_batch_elements = 0
        self.split_batches = 0

    @property
    def stats(self):
        """Counters (requests, calls, requests that shared a call, largest batch, splits) and
        the calls running and requests waiting now."""
        waiting = {id(g): g for g in list(self._ready) + list(self._open.values())}
        return {
            "running_calls": self._running,
            "waiting_requests": sum(
                not m.future.done() for g in waiting.values() for m in g.members
            ),
            "requests": self.requests,
            "calls": self.calls,
            "batched_requests": self.batched_requests,
            "largest_batch_requests": self.largest_batch_requests,
            "largest_batch_elements": self.largest_batch_elements,
            "split_batches": self.split_batches,
            "batching": self.max_batch_size > 1,
            "batch_window_ms": self.window_s * 1000.0,
            "max_batch_size": self.max_batch_size,
        }

    async def submit(self, signature_name, arrays, size):
        """Runs one request (`size` elements) and returns its outputs.

        Raises:
            Exception: what the signature raised on this request alone.
            ServingError: 503 when the batcher is closed.
        """
        if self._closed:
            raise ServingError(503, "the server is shutting down")
        loop = asyncio.get_running_loop()
        member = _Member(arrays, size, loop.create_future())
        self.requests += 1
        key = structure_key(signature_name, arrays)
        group = self._open.get(key)
        if group is not None and group.size + size > self.max_batch_size:
            self._close(group)
            group = None
        if group is None:
            group = _Group(key)
            self._open[key] = group
            # An idle server runs a request at once: waiting would add latency and no batch.
            if self.window_s > 0 and size < self.max_batch_size and self._running > 0:
                group.timer = loop.call_later(self.window_s, self._window_ended, group)
            else:
                self._make_ready(group)
        group.members.append(member)
        group.size += size
        if group.size >= self.max_batch_size:
            self._close(group)
        self._pump()
        # Cancelling this wait (a request timeout) cancels the future: a group not yet running
        # drops the member, a running one discards its outputs.
        return await member.future

    def _make_ready(self, group):
        if group.ready:
            return
        group.ready = True
        if group.timer is not None:
            group.timer.cancel()
            group.timer = None
        self._ready.append(group)

    def _close(self, group):
        if self._open.get(group.key) is group:
            del self._open[group.key]
        self._make_ready(group)

    def _window_ended(self, group):
        group.timer = None
        self._make_ready(group)
        self._pump()

    def _pump(self):
        while self._running < self.workers and self._ready:
            group = self._ready.popleft()
            if self._open.get(group.key) is group:
                del self._open[group.key]
            members = [m for m in group.members if not m.future.done()]
            if not members:
                continue
            self._running += 1
            task = asyncio.get_running_loop().create_task(self._dispatch(group.key[0], members))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _dispatch(self, signature_name, members):
        loop = asyncio.get_running_loop()
        self.calls += 1
        if len(members) > 1:
            self.batched_requests += len(members)
        self.largest_batch_requests = max(self.largest_batch_requests, len(members))
        self.largest_batch_elements = max(self.largest_batch_elements, sum(m.size for m in members))
        try:
            results = await loop.run_in_executor(
                self.executor, self._run_members, signature_name, members
            )
        except BaseException as e:  # noqa: BLE001 - the pool shut down, or this task was cancelled
            results = [e] * len(members)
        finally:
            self._running -= 1
            if not self._closed:
                self._pump()
        for member, result in zip(members, results, strict=True):
            if member.future.done():
                continue
            if isinstance(result, asyncio.CancelledError):
                member.future.cancel()
            elif isinstance(result, BaseException):
                member.future.set_exception(result)
            else:
                member.future.set_result(result)

    def _call(self, signature_name, arrays):
        try:
            return self.run(signature_name, arrays)
        except Exception as e:  # noqa: BLE001 - handed to the request it belongs to
            return e

    def _run_members(self, signature_name, members):
        """In a worker thread: one call for all members, or one each when that call fails."""
        if len(members) == 1:
            return [self._call(signature_name, members[0].arrays)]
        total = sum(m.size for m in members)
        merged = {
            name: np.concatenate([m.arrays[name] for m in members], axis=0)
            for name in members[0].arrays
        }
        outputs = self._call(signature_name, merged)
        splittable = not isinstance(outputs, BaseException) and all(
            np.ndim(value) >= 1 and len(value) == total for value in outputs.values()
        )
        if not splittable:
            # A bad member fails the whole call (or the outputs have no batch axis to split):
            # run each alone so only a bad one gets an error, with its own element indices.
            with self._lock:
                self.split_batches += 1
            return [self._call(signature_name, m.arrays) for m in members]
        results, start = [], 0
        for member in members:
            stop = start + member.size
            results.append({name: value[start:stop] for name, value in outputs.items()})
            start = stop
        return results

    def close(self):
        """Refuses new requests and fails those still waiting for a worker (503)."""
        self._closed = True
        waiting = list(self._ready) + list(self._open.values())
        self._ready.clear()
        self._open.clear()
        for group in waiting:
            if group.timer is not None:
                group.timer.cancel()
            for member in group.members:
                if not member.future.done():
                    member.future.set_exception(ServingError(503, "the server is shutting down"))
