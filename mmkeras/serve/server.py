"""`make_app` and `Server`: TensorFlow Serving's REST API for an mmkeras export, on aiohttp."""

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import os
import signal
import threading
import traceback

from aiohttp import web

from mmkeras.serve.batcher import Batcher
from mmkeras.serve.rest_json import decode_json, predict_request, predict_response
from mmkeras.serve.served_model import ServedModel
from mmkeras.serve.serving_error import ServingError

VERSION = "1"
_SERVICE = web.AppKey("mmkeras_service", object)
# Bodies up to this size are parsed on the event loop; larger ones in a thread, and requests
# with them are served at most _LARGE_SLOTS at a time.
_INLINE_BYTES = 256 * 1024
_LARGE_SLOTS = 2
_LOG = logging.getLogger("mmkeras.serve")


def _json_response(payload, status=200, headers=None):
    return web.Response(
        text=json.dumps(payload, separators=(",", ":")),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def _error_response(status, message, headers=None):
    return _json_response({"error": message}, status=status, headers=headers)


def _check_number(key, value, positive):
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    if not ok or (positive and value == 0):
        raise ValueError(
            f"serve: `{key}` must be a number {'> 0' if positive else '>= 0'}, received {value!r}."
        )


class _Service:
    """The state behind the routes: the model, its thread pools, limits and counters."""

    def __init__(
        self,
        model,
        name,
        batching,
        batch_window_ms,
        max_batch_size,
        max_request_mb,
        max_request_elements,
        max_concurrent_requests,
        overload_wait_s,
        timeout_s,
        workers,
    ):
        self.model = model
        self.name = name
        self.max_bytes = int(max_request_mb * 1024 * 1024)
        self.max_elements = int(max_request_elements)
        self.max_concurrent_requests = int(max_concurrent_requests)
        self.overload_wait_s = float(overload_wait_s)
        self.timeout_s = float(timeout_s)
        self.workers = int(workers)
        self.executor = concurrent.futures.ThreadPoolExecutor(
            self.workers, thread_name_prefix="mmkeras-serve-model"
        )
        # JSON parsing of large bodies runs here, not behind the model calls.
        self.io_executor = concurrent.futures.ThreadPoolExecutor(
            _LARGE_SLOTS, thread_name_prefix="mmkeras-serve-io"
        )
        self.large_slots = asyncio.Semaphore(_LARGE_SLOTS)
        self.batcher = Batcher(
            model.run,
            self.executor,
            workers=self.workers,
            window_s=batch_window_ms / 1000.0 if batching else 0.0,
            max_batch_size=int(max_batch_size) if batching else 1,
        )
        self.slots = asyncio.Semaphore(self.max_concurrent_requests)
        self.in_flight = 0
        self.responses = {}

    # === Routes ===

    async def models(self, request):
        """Every `/v1/models/...` path: status, metadata, predict (and stats)."""
        rest = request.match_info["rest"]
        segments = rest.split("/")
        verb = None
        if ":" in segments[-1]:
            segments[-1], verb = segments[-1].split(":", 1)
        name, segments = segments[0], segments[1:]
        if name != self.name:
            raise ServingError(
                404,
                f"model {name!r} not found; this server serves {self.name!r} "
                f"(/v1/models/{self.name})",
            )
        if segments[:1] == ["versions"]:
            if len(segments) < 2 or segments[1] != VERSION:
                version = segments[1] if len(segments) > 1 else ""
                raise ServingError(
                    404,
                    f"version {version!r} of model {self.name!r} not found; it has "
                    f"version {VERSION}",
                )
            segments = segments[2:]
        if verb is not None:
            if segments:
                raise ServingError(404, f"no such path: {request.path}")
            if verb != "predict":
                raise ServingError(
                    400 if verb in ("classify", "regress") else 404,
                    f"`:{verb}` is not served; this server answers `:predict`",
                )
            self._method(request, "POST")
            return await self.predict(request)
        if not segments:
            self._method(request, "GET")
            return _json_response(self.status())
        if segments == ["metadata"]:
            self._method(request, "GET")
            return _json_response(self.metadata())
        if segments == ["stats"]:
            self._method(request, "GET")
            return _json_response(self.stats())
        raise ServingError(404, f"no such path: {request.path}")

    @staticmethod
    def _method(request, allowed):
        if request.method != allowed and not (allowed == "GET" and request.method == "HEAD"):
            raise web.HTTPMethodNotAllowed(request.method, [allowed])

    def status(self):
        return {
            "model_version_status": [
                {
                    "version": VERSION,
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""},
                }
            ]
        }

    def metadata(self):
        return {
            "model_spec": {"name": self.name, "signature_name": "", "version": VERSION},
            "metadata": {
                "signature_def": {"signature_def": self.model.signature_defs},
                "mmkeras": self.model.metadata,
            },
        }

    def stats(self):
        return {
            "model": self.name,
            "signature_calls": self.model.calls,
            "elements": self.model.elements,
            "in_flight": self.in_flight,
            "responses": {str(k): v for k, v in sorted(self.responses.items())},
            "batcher": self.batcher.stats,
            "limits": {
                "max_request_bytes": self.max_bytes,
                "max_request_elements": self.max_elements,
                "max_concurrent_requests": self.max_concurrent_requests,
                "overload_wait_s": self.overload_wait_s,
                "timeout_s": self.timeout_s,
                "workers": self.workers,
            },
        }

    # === Predict ===

    async def predict(self, request):
        try:
            await asyncio.wait_for(self.slots.acquire(), self.overload_wait_s or 0.001)
        except TimeoutError:
            raise ServingError(
                503,
                f"the server is overloaded ({self.max_concurrent_requests} requests in "
                "flight); retry later",
            ) from None
        self.in_flight += 1
        try:
            return await asyncio.wait_for(self._predict(request), self.timeout_s)
        except TimeoutError:
            raise ServingError(
                504, f"the request did not finish within {self.timeout_s:g} s"
            ) from None
        finally:
            self.in_flight -= 1
            self.slots.release()

    async def _read_body(self, request):
        """The body, read in chunks up to the limit (not kept by the request object)."""
        if request.content_length is not None and request.content_length > self.max_bytes:
            raise ServingError(413, self._too_large(request.content_length))
        body = bytearray()
        async for chunk in request.content.iter_chunked(1 << 20):
            if len(body) + len(chunk) > self.max_bytes:
                raise ServingError(413, self._too_large(None))
            body.extend(chunk)
        return body

    async def _parse(self, request, large):
        signatures = self.model.signatures
        allow_missing = self.model.allow_missing
        body = await self._read_body(request)
        if not large:
            return predict_request(decode_json(body), signatures, allow_missing)

        def parse(body):
            return predict_request(decode_json(body), signatures, allow_missing)

        return await asyncio.get_running_loop().run_in_executor(self.io_executor, parse, body)

    async def _predict(self, request):
        # Large (or chunked) requests are served a few at a time, from reading the body to the
        # answer: parsed JSON takes several times the body's size, and the arrays stay until
        # the model has run. Waiting ones are not read (the client's upload waits).
        length = request.content_length
        if length is not None and length > self.max_bytes:
            raise ServingError(413, self._too_large(length))  # at once, not after a wait
        large = length is None or length > _INLINE_BYTES
        async with self.large_slots if large else contextlib.nullcontext():
            return await self._serve(request, large)

    async def _serve(self, request, large):
        loop = asyncio.get_running_loop()
        parsed = await self._parse(request, large)
        if parsed.size > self.max_elements:
            # A small body can hold many small images, each decoded to full size: bound it.
            raise ServingError(
                413,
                f"the request has {parsed.size} elements; this server takes at most "
                f"{self.max_elements} per request (`--max-request-elements`): split it",
            )
        try:
            outputs = await self.batcher.submit(parsed.signature_name, parsed.arrays, parsed.size)
        except ServingError:
            raise
        except Exception as e:  # noqa: BLE001 - TensorFlow's errors become HTTP statuses
            raise self.model.error(e, parsed.signature_name) from None
        response = predict_response(outputs, parsed.columnar)
        if sum(getattr(v, "size", 1) for v in outputs.values()) > 100_000:
            text = await loop.run_in_executor(
                self.io_executor, lambda: json.dumps(response, separators=(",", ":"))
            )
        else:
            text = json.dumps(response, separators=(",", ":"))
        return web.Response(text=text, content_type="application/json")

    def _too_large(self, size):
        limit = self.max_bytes / (1024 * 1024)
        got = f" ({size / (1024 * 1024):.1f} MiB)" if size is not None else ""
        return (
            f"the request body{got} is larger than the limit of {limit:g} MiB (`--max-request-mb`)"
        )

    async def close(self):
        self.batcher.close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.io_executor.shutdown(wait=False, cancel_futures=True)


def _forget_frames(error):
    """Clears the local variables of the frames in `error`'s tracebacks (and its causes').

    An error raised while parsing or running a request holds, through its traceback, the
    frames that held the parsed JSON and the arrays; with asyncio's reference cycles these
    would live until the next garbage collection (hundreds of MiB for a large bad request).
    """
    seen = set()
    while error is not None and id(error) not in seen and len(seen) < 16:
        seen.add(id(error))
        traceback.clear_frames(error.__traceback__)
        error = error.__cause__ or error.__context__


@web.middleware
async def _errors(request, handler):
    """Every error as TF Serving answers it: `{"error": message}` with its HTTP status."""
    service = request.app[_SERVICE]
    try:
        response = await handler(request)
    except ServingError as e:
        headers = {"Retry-After": "1"} if e.status in (429, 503) else None
        response = _error_response(e.status, e.message, headers)
        _forget_frames(e)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        message = e.text if e.text and not e.text.startswith(f"{e.status}:") else e.reason
        if e.status == 404:
            message = f"no such path: {request.path}; this server answers /v1/models/{service.name}"
        allow = e.headers.get("Allow")
        if e.status == 405:
            message = f"{request.method} is not allowed on {request.path}; use {allow}"
        response = _error_response(e.status, message, {"Allow": allow} if allow else None)
    except Exception as e:  # noqa: BLE001 - the server keeps serving
        _LOG.exception("mmkeras serve: error while answering %s", request.path)
        response = _error_response(500, f"internal error: {type(e).__name__}: {e}")
        _forget_frames(e)
    service.responses[response.status] = service.responses.get(response.status, 0) + 1
    return response


def make_app(
    export_dir,
    model_name=None,
    batching=True,
    batch_window_ms=2.0,
    max_batch_size=64,
    max_request_mb=32.0,
    max_request_elements=1024,
    max_concurrent_requests=64,
    overload_wait_s=1.0,
    timeout_s=30.0,
    workers=2,
):
    """An aiohttp application serving an export with TensorFlow Serving's REST API.

    Routes (`NAME` is `model_name`; `/versions/1` may follow it):

    - `GET /v1/models/NAME`: model status;
    - `GET /v1/models/NAME/metadata`: signature definitions, and the export's `metadata.json`
      under `metadata.mmkeras`;
    - `POST /v1/models/NAME:predict`: `{"instances": [...]}` -> `{"predictions": [...]}`, or
      `{"inputs": {...}}` -> `{"outputs": {...}}`; binary values as `{"b64": "..."}`;
    - `GET /v1/models/NAME/stats`: counters (requests, signature calls, batches); not in TF
      Serving.

    Errors answer `{"error": message}`: 400 bad request (the message names the input and the
    elements), 404 unknown model or path, 413 body over `max_request_mb` or more elements than
    `max_request_elements`, 503 overloaded (more than `max_concurrent_requests` in flight for
    `overload_wait_s`), 504 over `timeout_s`.

    Args:
        export_dir: export directory (`mmkeras.export.saved_model`), or a loaded `ServedModel`.
        model_name: str, the `NAME` in the paths (default: the export folder's name).
        batching: bool, merge concurrent requests into one call (see `Batcher`).
        batch_window_ms: float, how long a request waits for others to batch with.
        max_batch_size: int, the most elements in one call.
        max_request_mb: float, the largest request body, in MiB.
        max_request_elements: int, the most elements (instances) in one request.
        max_concurrent_requests: int, requests admitted at once; others wait.
        overload_wait_s: float, how long a request waits for admission before a 503.
        timeout_s: float, the longest a request may take (then 504).
        workers: int, threads calling the model (TensorFlow parallelises each call too).

    Returns:
        `aiohttp.web.Application`; run it with `aiohttp.web.run_app` or `Server`.

    Example:
    >>> import aiohttp.web
    >>> app = make_app("exported/", model_name="demo")
    >>> aiohttp.web.run_app(app, host="127.0.0.1", port=8501)  # doctest: +SKIP
    """
    for key, value, positive in (
        ("batch_window_ms", batch_window_ms, False),
        ("max_batch_size", max_batch_size, True),
        ("max_request_mb", max_request_mb, True),
        ("max_request_elements", max_request_elements, True),
        ("max_concurrent_requests", max_concurrent_requests, True),
        ("overload_wait_s", overload_wait_s, False),
        ("timeout_s", timeout_s, True),
        ("workers", workers, True),
    ):
        _check_number(key, value, positive)
    model = export_dir if isinstance(export_dir, ServedModel) else ServedModel(export_dir)
    name = model_name or os.path.basename(model.export_dir.rstrip(os.sep))
    if not name or "/" in name or ":" in name:
        raise ValueError(
            f"serve: `model_name` must be a non-empty name without / or :, got {name!r}."
        )
    service = _Service(
        model,
        name,
        batching,
        batch_window_ms,
        max_batch_size,
        max_request_mb,
        max_request_elements,
        max_concurrent_requests,
        overload_wait_s,
        timeout_s,
        workers,
    )
    app = web.Application(client_max_size=service.max_bytes, middlewares=[_errors])
    app[_SERVICE] = service
    app.router.add_route("*", "/v1/models/{rest:.+}", service.models)

    async def on_cleanup(app):
        await service.close()

    app.on_cleanup.append(on_cleanup)
    return app


def app_service(app):
    """The service state behind an app made by `make_app` (its model, batcher, counters)."""
    return app[_SERVICE]


class Server:
    """Serves an export over HTTP: in a background thread (`start`) or until a signal.

    Args:
        export_dir: export directory, or a loaded `ServedModel`.
        host: str, the address to listen on (default loopback only).
        port: int, the port (0: any free port; see `port` after `start`).
        model_name: str, default the export folder's name.
        shutdown_timeout_s: float, how long a stop waits for requests in flight.
        **options: the other arguments of `make_app` (`batching`, `batch_window_ms`,
            `max_batch_size`, `max_request_mb`, `max_request_elements`,
            `max_concurrent_requests`, `overload_wait_s`, `timeout_s`, `workers`).

    Example:
    >>> import json, urllib.request
    >>> with Server("exported/", port=0) as server:
    ...     status = json.load(urllib.request.urlopen(server.url))
    >>> status["model_version_status"][0]["state"]
    'AVAILABLE'
    """

    def __init__(
        self,
        export_dir,
        host="127.0.0.1",
        port=8501,
        model_name=None,
        shutdown_timeout_s=10.0,
        **options,
    ):
        self.app = make_app(export_dir, model_name=model_name, **options)
        self.service = app_service(self.app)
        self.host = host
        self.port = int(port)
        self.shutdown_timeout_s = float(shutdown_timeout_s)
        self._runner = None
        self._loop = None
        self._thread = None

    @property
    def model_name(self):
        return self.service.name

    @property
    def url(self):
        """`http://HOST:PORT/v1/models/NAME` (the status URL; append `:predict` to predict)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1/models/{self.model_name}"

    async def start_async(self):
        """Starts listening on the running event loop (sets `port` when it was 0)."""
        self._runner = web.AppRunner(
            self.app, access_log=None, shutdown_timeout=self.shutdown_timeout_s
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]

    async def stop_async(self):
        """Stops listening, lets requests in flight finish, and shuts the thread pools down."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self, timeout_s=60.0):
        """Serves in a background thread; returns once the server listens."""
        if self._thread is not None:
            raise RuntimeError("Server.start: the server is already running.")
        ready = threading.Event()
        failure = []

        def main():
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as e:  # noqa: BLE001 - reported by start()
                failure.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.stop_async())
                loop.close()

        self._thread = threading.Thread(target=main, name="mmkeras-serve", daemon=True)
        self._thread.start()
        if not ready.wait(timeout_s):
            raise TimeoutError(f"Server.start: not listening after {timeout_s} s.")
        if failure:
            self._thread = None
            raise failure[0]
        return self

    def stop(self, timeout_s=30.0):
        """Stops a server started by `start`."""
        if self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout_s)
        self._thread = None

    def serve_forever(self, on_start=None):
        """Serves on this thread until SIGINT or SIGTERM, then stops gracefully.

        Args:
            on_start: callable `(server)`, called once listening (prints the URL, for example).
        """

        async def main():
            await self.start_async()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, stop.set)
                except (NotImplementedError, RuntimeError, ValueError):
                    pass  # not the main thread, or a platform without signal handlers
            if on_start is not None:
                on_start(self)
            try:
                await stop.wait()
            finally:
                await self.stop_async()

        asyncio.run(main())

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def __repr__(self):
        return f"Server({self.service.model.export_dir!r}, url={self.url!r})"
