"""Saving a `Pipeline` to a folder (`pipeline.json` plus the specs' files) and loading it."""

import json
import os

from mmkeras.atomic_files import write_json
from mmkeras.data.spec import spec_class

CONFIG_FILE = "pipeline.json"


def save_pipeline(pipe, path):
    """Writes `pipe` into the folder `path`; see `Pipeline.save`.

    `pipeline.json` holds the pipeline's config, `root_abspath` and `state`: sections such as
    `"classes"` or `"vocabularies"`, each `{name: value}`, filled by the specs' `save_assets`.
    """
    os.makedirs(path, exist_ok=True)
    config = pipe.get_config()
    config["root_abspath"] = None if pipe.root is None else os.path.abspath(pipe.root)
    state = {}
    for name, spec in pipe.specs.items():
        spec_config, spec_state = spec.save_assets(path, name)
        config["specs"][name]["config"] = spec_config
        for section, value in spec_state.items():
            state.setdefault(section, {})[name] = value
    config["state"] = state
    target = os.path.join(path, CONFIG_FILE)
    write_json(target, config, indent=2)


def load_pipeline(cls, path):
    """Reads the folder `path` written by `save_pipeline` into a new `cls`; see `Pipeline.load`.

    Pipelines saved before `state` sections were written by the specs read the same way: the
    sections and their layout are unchanged.
    """
    with open(os.path.join(path, CONFIG_FILE), encoding="utf-8") as f:
        config = json.load(f)
    state = config.pop("state", {})
    root = config.get("root")
    if config.get("root_abspath") and os.path.isdir(config["root_abspath"]):
        root = config["root_abspath"]
    specs = {
        name: spec_class(entry["class_name"]).from_saved_config(entry["config"], path)
        for name, entry in config["specs"].items()
    }
    pipe = cls(
        schema=config["schema"],
        specs=specs,
        root=root,
        allow_missing=config.get("allow_missing", False),
        delimiter=config.get("delimiter"),
        confine_paths=config.get("confine_paths", False),
    )
    for name, spec in pipe.specs.items():
        spec.load_state(
            {section: values[name] for section, values in state.items() if name in values},
            path,
        )
    return pipe
