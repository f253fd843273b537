"""`mmkeras launch-local --workers N CONFIG.yaml`: a multi-worker job on this machine."""

from mmkeras.cli.train import add_run_arguments

HELP = "train a multi-worker job as N local worker processes (restarted as a cluster on failure)"


def add_arguments(parser):
    parser.add_argument(
        "--workers", type=int, default=2, help="number of worker processes (default: 2)"
    )
    parser.add_argument(
        "--max-restarts",
        type=int,
        default=3,
        help="restarts of the whole cluster after a worker fails (default: 3)",
    )
    # Passed on to `mmkeras train` in each worker.
    add_run_arguments(parser, restart_note="first start only")
    parser.add_argument("--quiet", action="store_true", help="workers print only errors")


def run(args):
    import sys

    from mmkeras import config as config_module
    from mmkeras.cli import UsageError
    from mmkeras.train.local_cluster import LocalCluster

    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, received {args.workers}.")
    if args.max_restarts < 0:
        raise UsageError(f"--max-restarts must be at least 0, received {args.max_restarts}.")
    config = config_module.load(args.config)
    if config.train.strategy not in ("auto", "multi_worker"):
        raise UsageError(
            f"{args.config}: train.strategy is {config.train.strategy!r}; launch-local runs a "
            "multi-worker job: set train.strategy to 'multi_worker' (or 'auto')."
        )
    command = [sys.executable, "-m", "mmkeras", "train", args.config]
    for flag, value in (("--output-dir", args.output_dir), ("--name", args.name)):
        if value:
            command += [flag, value]
    if args.quiet:
        command.append("--quiet")
    # A restarted cluster must resume from the backup, never delete it again.
    first = command + ["--restart"] if args.restart else command
    cluster = LocalCluster(
        first, num_workers=args.workers, max_restarts=args.max_restarts, restart_command=command
    )
    return cluster.run()
