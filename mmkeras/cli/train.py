"""`mmkeras train CONFIG.yaml`: train (or resume) the run a configuration describes."""

HELP = "train (or resume after a crash) the run described by a YAML configuration"


def add_run_arguments(parser, restart_note):
    """The configuration and where its run goes: `config`, `--restart` (its help ending in
    `restart_note`), `--output-dir` and `--name`."""
    parser.add_argument("config", help="path of the YAML run configuration")
    parser.add_argument(
        "--restart",
        action="store_true",
        help=f"delete an existing run of the same name and start afresh ({restart_note})",
    )
    parser.add_argument("--output-dir", help="parent folder of the run (overrides output_dir)")
    parser.add_argument("--name", help="run name (overrides name)")


def add_arguments(parser):
    add_run_arguments(parser, restart_note="default: resume it")
    parser.add_argument(
        "--epochs",
        type=int,
        help="train for this many epochs (overrides train.epochs; with fine-tuning stages, each "
        "stage trains at most this many); for a quick trial of a configuration",
    )
    parser.add_argument("--quiet", action="store_true", help="print only errors")


def run(args):
    from mmkeras import config as config_module
    from mmkeras.cli import UsageError
    from mmkeras.cli.quiet import import_tensorflow

    config = config_module.load(args.config)
    overrides = {}
    if args.output_dir:
        overrides["output_dir"] = args.output_dir
    if args.name:
        overrides["name"] = args.name
    data = {**config_module.to_dict(config), **overrides}
    if args.epochs is not None:
        if args.epochs < 1:
            raise UsageError(f"--epochs: {args.epochs} is not allowed; allowed: a positive integer")
        data["train"]["epochs"] = args.epochs
        for stage in (data.get("finetune") or {}).get("stages", []):
            stage["epochs"] = min(stage["epochs"], args.epochs)
    if overrides or args.epochs is not None:
        config = config_module.from_dict(data, base_dir=config.base_dir, source=args.config)
    import_tensorflow()
    from mmkeras.train import fit

    run = fit(config, restart=args.restart, verbose=not args.quiet)
    if not args.quiet:
        print(f"done: {run.run_dir}")
    return 0
