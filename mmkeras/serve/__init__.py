"""Serving an export over HTTP with TensorFlow Serving's REST API (`mmkeras serve EXPORT_DIR`).

>>> from mmkeras.serve import Server
>>> with Server("exported/", port=0) as server:          # loopback, any free port
...     print(server.url)                                  # http://127.0.0.1:PORT/v1/models/exported

Clients written for TF Serving work unchanged: `POST /v1/models/NAME:predict` with
`{"instances": [...]}` or `{"inputs": {...}}`, binary values as `{"b64": "..."}`. Concurrent
requests are batched into one call of the signature; bad requests get a 4xx with a message
naming the input, and the server keeps serving. Needs `aiohttp`.
"""

from mmkeras.serve.batcher import Batcher
from mmkeras.serve.served_model import ServedModel
from mmkeras.serve.server import Server, app_service, make_app
from mmkeras.serve.serving_error import ServingError

__all__ = ["Batcher", "ServedModel", "Server", "ServingError", "app_service", "make_app"]
