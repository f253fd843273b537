"""`resolve_config`: a run's configuration with every `auto` size filled in from the data."""

import inspect
import os

from mmkeras.config import ConfigError, from_dict, to_dict
from mmkeras.config.config_error import did_you_mean
from mmkeras.names import branch_reads

AUTO = "auto"

# Builder arguments that hold file paths (relative to the config file); `weights: imagenet` names
# the published weights instead.
_PATH_ARGS = ("path", "weights")


def resolve_path(config, path):
    """`path` made absolute against the config file's directory (None stays None)."""
    if path is None:
        return None
    path = os.path.expanduser(str(path))
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(config.base_dir, path))


def resolve_checkpoint(config, source):
    """A checkpoint named in a config: a folder relative to the config file becomes absolute;
    `hf://`, `kaggle://` and preset names stay as written."""
    if source is None or "://" in str(source):
        return source
    path = resolve_path(config, source)
    return path if os.path.exists(path) else source


def _auto_sources(pipe, key, kind):
    """Values the adapted pipeline knows for the arguments of branch `key`."""
    spec = pipe.specs[key]
    modality = pipe.modality(key)
    sources = {"modality": modality} if kind == "pretrained" else {}
    if modality == "image":
        sources["input_shape"] = list(spec.shape)
    elif modality == "text":
        sources["max_length"] = spec.max_length
        if kind != "text_bert":
            sources["vocab_size"] = pipe.vocab_size(key)
    elif modality == "audio":
        sources["sample_rate"] = spec.sample_rate
        sources["duration"] = spec.duration
    elif spec.feature_stats() is not None:
        # A feature vector (tabular, categorical): its width and the statistics of the
        # features as decoded (imputed values and indicators, one-hot slots).
        mean, std = pipe.feature_stats(key)
        sources["num_features"] = pipe.num_features(key)
        sources["mean"] = [float(m) for m in mean]
        sources["variance"] = [float(s) ** 2 for s in std]
    return sources


def _builder_parameters(kind):
    from mmkeras import branches

    builder = getattr(branches, kind)
    return [
        p
        for p in inspect.signature(builder).parameters.values()
        if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]


def resolve_config(config, pipe):
    """A copy of `config` with every `auto` size filled in from the adapted pipeline.

    Branch arguments the pipeline determines (`input_shape`, `vocab_size`, `max_length`,
    `sample_rate`, `duration`, `num_features`, feature `mean` / `variance`) are filled in when
    they are `auto` or left out; task sizes (`num_classes`, `num_labels`, `num_outputs`) and class
    names come from the label index. Paths become absolute.

    Raises:
        ConfigError: an unknown builder argument, a branch whose modality does not match its
            input, or a task that does not match its target.
    """
    data = to_dict(config)
    problems = []
    for key, branch in data["model"]["branches"].items():
        where = f"model.branches.{key}"
        kind = branch["kind"]
        if key not in pipe.input_names:
            problems.append(f"{where}: {key!r} is not an input of data.schema")
            continue
        if not branch_reads(kind, pipe.modality(key)):
            problems.append(
                f"{where}.kind: {kind!r} reads {' or '.join(branch_reads(kind))}, but input "
                f"{key!r} is {pipe.modality(key)}"
            )
            continue
        params = _builder_parameters(kind)
        names = [p.name for p in params]
        for arg in branch:
            if arg != "kind" and arg not in names:
                problems.append(
                    f"{where}.{arg}: unknown argument of {kind}; allowed: {', '.join(names)}"
                    f"{did_you_mean(arg, names)}"
                )
        for arg, value in _auto_sources(pipe, key, kind).items():
            if arg in names and branch.get(arg, AUTO) == AUTO:
                branch[arg] = value
        problems += _regions_for_attention(config, branch, where, names)
        for arg in _PATH_ARGS:
            value = branch.get(arg)
            if isinstance(value, str) and value.lower() != "imagenet":
                branch[arg] = resolve_path(config, value)
        if kind == "pretrained" and isinstance(branch.get("source"), str):
            branch["source"] = resolve_checkpoint(config, branch["source"])
        required = [
            p.name for p in params if p.default is inspect.Parameter.empty and p.name not in branch
        ]
        if required:
            problems.append(f"{where}: {kind} needs {required}")
        autos = [a for a, v in branch.items() if v == AUTO]
        if autos:
            problems.append(f"{where}: {autos} cannot be 'auto' for {kind}")
    problems += _resolve_tasks(data, pipe, config)
    for field in ("train", "validation", "test"):
        data["data"][field] = resolve_path(config, data["data"][field])
    data["data"]["root"] = resolve_path(config, data["data"]["root"])
    if data["data"]["text"] and data["data"]["text"]["vocab"]:
        data["data"]["text"]["vocab"] = resolve_checkpoint(config, data["data"]["text"]["vocab"])
    if data["distill"]:
        data["distill"]["teacher"] = resolve_path(config, data["distill"]["teacher"])
    if problems:
        raise ConfigError(problems)
    resolved = from_dict(data, base_dir=config.base_dir)
    return resolved


_SIZE_FIELD = {
    "classification": "num_classes",
    "multilabel": "num_labels",
    "regression": "num_outputs",
}
_NAMES_FIELD = {"classification": "class_names", "multilabel": "label_names"}


def _regions_for_attention(config, branch, where, names):
    """A captioner that attends needs the image regions: `return_sequence` defaults to true."""
    task = config.model.task
    if config.model.model_task != "captioning" or not task.attention:
        return []
    if "return_sequence" not in names:
        return [f"{where}.kind: {branch['kind']!r} has no image regions to attend over"]
    if branch.get("return_sequence") is False:
        return [
            f"{where}.return_sequence: false, but a captioning task with attention: true "
            "attends over the image regions; set it true, or set model.task.attention: false"
        ]
    branch["return_sequence"] = True
    return []


def _resolve_caption(config, data, pipe):
    """Fills the captioner's `vocab_size` and `max_length` from the caption input."""
    key = config.caption_input
    task = data["model"]["task"]
    if pipe.modality(key) != "text":
        return [f"model.task.caption: captions are text, but input {key!r} is {pipe.modality(key)}"]
    spec = pipe.specs[key]
    if not getattr(spec, "start_end", False):
        return [
            f"model.task.caption: input {key!r} must be tokenized with start / end tokens "
            "(a word tokenizer); allowed: a text input with tokenizer 'word'"
        ]
    problems = []
    for field, size in (("vocab_size", pipe.vocab_size(key)), ("max_length", spec.max_length)):
        if task.get(field, AUTO) == AUTO:
            task[field] = size
        elif task[field] != size:
            problems.append(
                f"model.task.{field}: {task[field]}, but the caption input {key!r} has {size}"
            )
    return problems


def _resolve_tasks(data, pipe, config):
    problems = []
    task = data["model"]["task"]
    if config.model.model_task == "captioning":
        return _resolve_caption(config, data, pipe)
    if config.model.model_task:
        return []
    targets = pipe.target_names
    if "kind" in task:
        if len(targets) != 1:
            return [
                f"model.task: one task, but data has {len(targets)} targets {targets}; give "
                "model.task as {target_name: {kind: ...}, ...}"
            ]
        tasks = {targets[0]: task}
        if task.get("name") is None:
            task["name"] = targets[0] if targets[0].isidentifier() else "label"
        where = {targets[0]: "model.task"}
    else:
        tasks = task
        where = {k: f"model.task.{k}" for k in tasks}
        extra = sorted(set(tasks) - set(targets))
        missing = sorted(set(targets) - set(tasks))
        if extra or missing:
            return [
                f"model.task: task names must be the data targets {targets}; "
                f"unknown: {extra}, without a task: {missing}"
            ]
    for target, t in tasks.items():
        kind = t["kind"]
        label_kind = pipe.specs[target].kind
        if kind != label_kind:
            problems.append(
                f"{where[target]}.kind: {kind!r}, but target {target!r} is read as {label_kind!r}"
            )
            continue
        size = pipe.target_size(target)
        field = _SIZE_FIELD[kind]
        if t.get(field, AUTO) == AUTO:
            t[field] = size
        elif t[field] != size:
            problems.append(
                f"{where[target]}.{field}: {t[field]}, but the data has {size} for {target!r}"
            )
        names_field = _NAMES_FIELD.get(kind)
        if names_field and t.get(names_field) is None:
            labels = pipe.labels if len(targets) == 1 else pipe.labels[target]
            t[names_field] = [str(c) for c in labels]
        for other in _SIZE_FIELD.values():
            if other != field and t.get(other) == AUTO:
                t.pop(other)
    return problems
