"""`mmkeras serve EXPORT_DIR`: TensorFlow Serving's REST API for an export, over HTTP."""

import os

HELP = "serve an export directory over HTTP with TensorFlow Serving's REST API"


def add_arguments(parser):
    parser.add_argument("export_dir", help="export directory written by `mmkeras export`")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)"
    )
    parser.add_argument("--port", type=int, default=8501, help="port (default 8501; 0: any free)")
    parser.add_argument(
        "--model-name", help="NAME in /v1/models/NAME (default: the export folder's name)"
    )
    parser.add_argument(
        "--max-request-mb",
        type=float,
        default=32.0,
        help="largest request body in MiB; larger ones get 413 (default 32)",
    )
    parser.add_argument(
        "--max-request-elements",
        type=int,
        default=1024,
        help="most elements (instances) in one request; more get 413 (default 1024)",
    )
    parser.add_argument(
        "--max-concurrent-requests",
        type=int,
        default=64,
        help="requests admitted at once; others wait --overload-wait, then get 503 (default 64)",
    )
    parser.add_argument(
        "--overload-wait",
        type=float,
        default=1.0,
        help="seconds a request waits for admission before a 503 (default 1)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds a request may take before a 504 (default 30)",
    )
    parser.add_argument(
        "--batch-window-ms",
        type=float,
        default=2.0,
        help="how long a request waits for concurrent ones to batch with (default 2)",
    )
    parser.add_argument(
        "--max-batch-size",
        type=int,
        default=64,
        help="most elements in one batched call of the model (default 64)",
    )
    parser.add_argument(
        "--no-batching",
        action="store_true",
        help="run every request as its own call of the model",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="threads calling the model (default 2)"
    )


def run(args):
    from mmkeras.cli import UsageError
    from mmkeras.cli.quiet import import_tensorflow

    if not os.path.isfile(os.path.join(args.export_dir, "saved_model.pb")):
        raise UsageError(
            f"{args.export_dir!r} is not an export directory (no saved_model.pb); write one "
            "with `mmkeras export RUN_DIR OUT`"
        )
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0..65535, received {args.port}")
    import_tensorflow()
    from mmkeras.serve import Server

    try:
        server = Server(
            args.export_dir,
            host=args.host,
            port=args.port,
            model_name=args.model_name,
            batching=not args.no_batching,
            batch_window_ms=args.batch_window_ms,
            max_batch_size=args.max_batch_size,
            max_request_mb=args.max_request_mb,
            max_request_elements=args.max_request_elements,
            max_concurrent_requests=args.max_concurrent_requests,
            overload_wait_s=args.overload_wait,
            timeout_s=args.timeout,
            workers=args.workers,
        )
    except ValueError as e:
        raise UsageError(str(e)) from None

    def started(server):
        batching = (
            "off"
            if args.no_batching
            else f"window {args.batch_window_ms:g} ms, up to {args.max_batch_size} elements"
        )
        print(f"serving model {server.model_name!r} from {os.path.abspath(args.export_dir)}")
        print(f"  status:   GET  {server.url}")
        print(f"  metadata: GET  {server.url}/metadata")
        print(f"  predict:  POST {server.url}:predict")
        print(
            f"  batching {batching}; body limit {args.max_request_mb:g} MiB; timeout "
            f"{args.timeout:g} s; Ctrl-C to stop",
            flush=True,
        )

    try:
        server.serve_forever(on_start=started)
    except OSError as e:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {e.strerror or e}") from None
    print("stopped", flush=True)
    return 0
