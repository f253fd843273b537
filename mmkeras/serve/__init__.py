"""Serving an export over HTTP with TensorFlow Serving's REST API (`mmkeras serve EXPORT_DIR`).

>>> from mmkeras.serve import Server
>>> with Server("exported/", port=0) as server:  # loopback, any free port
...     print(server.url)
http://127.0.0.1:.../v1/models/exported

Clients written for TF Serving work unchanged: `POST /v1/models/NAME:predict` with
`{"instances": [...]}` or `{"inputs": {...}}`, binary values as `{"b64": "..."}`. Concurrent
requests are batched into one call of the signature; bad requests get a 4xx with a message
naming the input, and the server keeps serving. Needs `aiohttp`.
"""

from mmkeras._lazy import attach

_EXPORTS = {
    "Batcher": "mmkeras.serve.batcher",
    "ServedModel": "mmkeras.serve.served_model",
    "Server": "mmkeras.serve.server",
    "ServingError": "mmkeras.serve.serving_error",
    "app_service": "mmkeras.serve.app",
    "make_app": "mmkeras.serve.app",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
