"""`Service`: the state behind a served model's routes, and how each route answers."""

import asyncio
import concurrent.futures
import contextlib
import json

from aiohttp import web

from mmkeras.serve.batcher import Batcher
from mmkeras.serve.rest_json import decode_json, predict_request, predict_response
from mmkeras.serve.serving_error import ServingError

VERSION = "1"
# Bodies up to this size are parsed on the event loop; larger ones in a thread, and requests
# with them are served at most _LARGE_SLOTS at a time.
_INLINE_BYTES = 256 * 1024
_LARGE_SLOTS = 2


def json_response(payload, status=200, headers=None):
    return web.Response(
        text=json.dumps(payload, separators=(",", ":")),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def error_response(status, message, headers=None):
    return json_response({"error": message}, status=status, headers=headers)


class Service:
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
            return json_response(self.status())
        if segments == ["metadata"]:
            self._method(request, "GET")
            return json_response(self.metadata())
        if segments == ["stats"]:
            self._method(request, "GET")
            return json_response(self.stats())
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
