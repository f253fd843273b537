"""A resumed run must have the configuration it started with (up to harmless settings)."""

import os

from mmkeras.config import ConfigError, from_dict, to_dict

CONFIG = "config.yaml"

# Settings a resumed run may change: they neither shape the model nor change what it learns.
RESUMABLE_CHANGES = (
    "callbacks.tensorboard",
    "callbacks.csv_log",
    "callbacks.backup.every_steps",
    "train.verbose",
)
_MISSING = object()


def _differences(saved, now, prefix=""):
    """Dotted paths where two configuration dicts differ."""
    if isinstance(saved, dict) and isinstance(now, dict):
        out = []
        for key in list(saved) + [k for k in now if k not in saved]:
            path = f"{prefix}.{key}" if prefix else str(key)
            out += _differences(saved.get(key, _MISSING), now.get(key, _MISSING), path)
        return out
    return [] if saved == now else [(prefix, saved, now)]


def _shown(value):
    return "(not set)" if value is _MISSING else repr(value)


def check_same_config(run_dir, resolved):
    """Raises a `ConfigError` naming each setting that differs from the run's saved config.

    Settings in `RESUMABLE_CHANGES` may differ; a run directory without a saved config passes.
    """
    path = os.path.join(run_dir, CONFIG)
    if not os.path.isfile(path):
        return
    import yaml

    with open(path, encoding="utf-8") as f:
        saved = yaml.safe_load(f)
    try:
        # Read with today's schema: a setting added since the run started takes its default.
        saved = to_dict(from_dict(saved, base_dir=run_dir))
    except ConfigError:
        pass  # compared as written
    changed = {}
    for key, before, after in _differences(saved, to_dict(resolved)):
        if not any(key == ok or key.startswith(ok + ".") for ok in RESUMABLE_CHANGES):
            section = key.split(".")[0]
            changed.setdefault(section, []).append(
                f"{key} {_shown(before)} in the run, {_shown(after)} now"
            )
    if changed:
        raise ConfigError(
            [
                f"{section}: differs from the configuration of the unfinished run in {run_dir} "
                f"({'; '.join(details)}); resume with the same settings, or start afresh "
                "(`mmkeras train --restart`, `fit(..., restart=True)`) or under another name "
                "(`--name`)"
                for section, details in changed.items()
            ]
        )
