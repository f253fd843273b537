"""`make_app`: an aiohttp application answering TensorFlow Serving's REST API for an export."""

import logging
import os
import traceback

from aiohttp import web

from mmkeras.serve.served_model import ServedModel
from mmkeras.serve.service import Service, error_response
from mmkeras.serve.serving_error import ServingError

_SERVICE = web.AppKey("mmkeras_service", object)
_LOG = logging.getLogger("mmkeras.serve")
# The limits of `make_app` that may be 0; the others must be > 0.
_MAY_BE_ZERO = ("batch_window_ms", "overload_wait_s")


def _check_number(key, value, positive):
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    if not ok or (positive and value == 0):
        raise ValueError(
            f"serve: `{key}` must be a number {'> 0' if positive else '>= 0'}, received {value!r}."
        )


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
        response = error_response(e.status, e.message, headers)
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
        response = error_response(e.status, message, {"Allow": allow} if allow else None)
    except Exception as e:  # noqa: BLE001 - the server keeps serving
        _LOG.exception("mmkeras serve: error while answering %s", request.path)
        response = error_response(500, f"internal error: {type(e).__name__}: {e}")
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
    limits = {
        "batch_window_ms": batch_window_ms,
        "max_batch_size": max_batch_size,
        "max_request_mb": max_request_mb,
        "max_request_elements": max_request_elements,
        "max_concurrent_requests": max_concurrent_requests,
        "overload_wait_s": overload_wait_s,
        "timeout_s": timeout_s,
        "workers": workers,
    }
    for key, value in limits.items():
        _check_number(key, value, positive=key not in _MAY_BE_ZERO)
    model = export_dir if isinstance(export_dir, ServedModel) else ServedModel(export_dir)
    name = model_name or os.path.basename(model.export_dir.rstrip(os.sep))
    if not name or "/" in name or ":" in name:
        raise ValueError(
            f"serve: `model_name` must be a non-empty name without / or :, got {name!r}."
        )
    service = Service(model, name, batching, **limits)
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
