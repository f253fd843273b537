"""`Server`: serves an export over HTTP, in a background thread or until a signal."""

import asyncio
import signal
import threading

from aiohttp import web

from mmkeras.serve.app import _forget_frames, app_service, make_app  # noqa: F401 - public here too


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
