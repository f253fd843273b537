"""From a `RunConfig` to the objects of a run: pipeline, model, optimizer, callbacks."""

import inspect
import os

from mmkeras.config import ConfigError, from_dict, to_dict
from mmkeras.config.config_error import did_you_mean
from mmkeras.names import BRANCH_MODALITIES as _BRANCH_MODALITY

AUTO = "auto"

# Builder arguments that hold file paths (relative to the config file).
_PATH_ARGS = ("path", "weights")


def resolve_path(config, path):
    """`path` made absolute against the config file's directory (None stays None)."""
    if path is None:
        return None
    path = os.path.expanduser(str(path))
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(config.base_dir, path))


def _wrap(where, error):
    return ConfigError([f"{where}: {error}"])


# === Pipeline ===
def _image_spec(section):
    from mmkeras.data import ImageSpec, OpenCVAugment

    kwargs = section.model_dump(exclude={"modality", "augment"})
    kwargs["size"] = tuple(kwargs["size"])
    if section.augment is not None:
        kwargs["augment"] = OpenCVAugment(**section.augment.model_dump())
    return ImageSpec(**kwargs)


def _audio_spec(section):
    from mmkeras.data import AudioAugment, AudioSpec

    kwargs = section.model_dump(exclude={"modality", "augment"})
    if section.augment is not None:
        kwargs["augment"] = AudioAugment(**section.augment.model_dump())
    return AudioSpec(**kwargs)


def _text_spec(section, config, start_end=False):
    from mmkeras.data import TextSpec

    kwargs = section.model_dump(exclude={"modality"})
    kwargs["vocab"] = resolve_path(config, kwargs["vocab"])
    return TextSpec(**kwargs, start_end=start_end)


def _tabular_spec(section):
    from mmkeras.data import TabularSpec

    return TabularSpec(**section.model_dump(exclude={"modality"}))


def _make_spec(modality, section, config, name):
    if modality == "image":
        return _image_spec(section)
    if modality == "text":
        # Captions carry the start / end tokens a Captioner reads and writes.
        return _text_spec(section, config, start_end=name == config.caption_input)
    if modality == "audio":
        return _audio_spec(section)
    return _tabular_spec(section)


def build_pipeline(config):
    """The (not yet adapted) `mmkeras.data.Pipeline` of `config.data`.

    Raises:
        ConfigError: a spec or the schema is rejected by the data package.
    """
    from mmkeras.data import LabelSpec, Pipeline

    data = config.data
    kwargs = {}
    for modality in ("image", "text", "audio", "tabular"):
        section = getattr(data, modality)
        if section is not None:
            try:
                kwargs[modality] = _make_spec(modality, section, config, modality)
            except ValueError as e:
                raise _wrap(f"data.{modality}", e) from None
    specs = {}
    for name, section in data.specs.items():
        try:
            specs[name] = _make_spec(section.modality, section, config, name)
        except ValueError as e:
            raise _wrap(f"data.specs.{name}", e) from None
    targets = None
    if data.targets is not None:
        targets = {k: LabelSpec(**v.model_dump()) for k, v in data.targets.items()}
    try:
        return Pipeline(
            schema=dict(data.schema_),
            specs=specs or None,
            targets=targets,
            root=resolve_path(config, data.root),
            allow_missing=data.allow_missing,
            delimiter=data.delimiter,
            confine_paths=data.confine_paths,
            **kwargs,
        )
    except ValueError as e:
        raise _wrap("data", e) from None


# === Resolving "auto" sizes ===
def _auto_sources(pipe, key, kind):
    """Values the adapted pipeline knows for the arguments of branch `key`."""
    spec = pipe.specs[key]
    modality = pipe.modality(key)
    sources = {}
    if modality == "image":
        sources["input_shape"] = list(spec.shape)
    elif modality == "text":
        sources["max_length"] = spec.max_length
        if kind != "text_bert":
            sources["vocab_size"] = pipe.vocab_size(key)
    elif modality == "audio":
        sources["sample_rate"] = spec.sample_rate
        sources["duration"] = spec.duration
    elif modality == "tabular":
        sources["num_features"] = pipe.num_features(key)
        if not spec.normalize:
            mean, std = pipe.tabular_stats(key)
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
    `sample_rate`, `duration`, `num_features`, tabular `mean` / `variance`) are filled in when
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
        if _BRANCH_MODALITY[kind] != pipe.modality(key):
            problems.append(
                f"{where}.kind: {kind!r} reads {_BRANCH_MODALITY[kind]}, but input {key!r} is "
                f"{pipe.modality(key)}"
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
            if isinstance(value, str) and value != "imagenet":
                branch[arg] = resolve_path(config, value)
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
        data["data"]["text"]["vocab"] = resolve_path(config, data["data"]["text"]["vocab"])
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


# === Model ===
def make_task(task_config):
    """A `mmkeras.tasks` object from a resolved `TaskConfig`."""
    from mmkeras import tasks

    cls = {
        "classification": tasks.Classification,
        "multilabel": tasks.MultiLabel,
        "regression": tasks.Regression,
    }[task_config.kind]
    return cls(**task_config.task_kwargs())


def build_model(config):
    """The uncompiled `MultimodalModel` of a resolved config (call inside the strategy scope).

    Raises:
        ConfigError: the model code rejects a branch, fusion or task argument.
    """
    import mmkeras

    model_cfg = config.model
    branches = {}
    for key, branch in model_cfg.branches.items():
        try:
            branches[key] = mmkeras.models.make_branch(branch.kind, **branch.builder_kwargs())
        except (ValueError, TypeError) as e:
            raise _wrap(f"model.branches.{key}", e) from None
    if model_cfg.model_task:
        return _build_task_model(config, branches)
    if isinstance(model_cfg.task, dict):
        task = {name: make_task(t) for name, t in model_cfg.task.items()}
    else:
        task = make_task(model_cfg.task)
    try:
        return mmkeras.build_model(
            branches=branches,
            fusion=model_cfg.fusion,
            fusion_kwargs=model_cfg.fusion_kwargs or None,
            task=task,
            modality_dropout=model_cfg.modality_dropout,
            compile=False,
            name=model_cfg.name,
        )
    except (ValueError, TypeError) as e:
        raise _wrap("model", e) from None


def model_inputs(config):
    """`{model input name: data.schema input}` of a retrieval or captioning model (else None).

    A `DualEncoder` takes `"image"` and `"text"`, a `Captioner` `"image"` and `"caption"`,
    whatever the schema calls them.
    """
    kind = config.model.model_task
    if kind is None:
        return None
    by_modality = {b.kind.split("_")[0]: key for key, b in config.model.branches.items()}
    if kind == "retrieval":
        return {"image": by_modality["image"], "text": by_modality["text"]}
    return {"image": by_modality["image"], "caption": config.caption_input}


def task_selector(config):
    """A tf.data map feeding a retrieval or captioning model: its inputs renamed, no targets."""
    mapping = model_inputs(config)

    def select(inputs, *targets):
        return {name: inputs[key] for name, key in mapping.items()}

    return select


def _build_task_model(config, branches):
    import mmkeras

    task = config.model.task
    inputs = model_inputs(config)
    try:
        if task.kind == "retrieval":
            return mmkeras.models.DualEncoder(
                image_branch=branches[inputs["image"]],
                text_branch=branches[inputs["text"]],
                embed_dim=task.embed_dim,
                temperature=task.temperature,
                recall_ks=tuple(task.recall_ks),
                name=config.model.name,
            )
        return mmkeras.models.Captioner(
            branches[inputs["image"]],
            vocab_size=task.vocab_size,
            decoder=task.decoder,
            attention=task.attention,
            max_length=task.max_length,
            embedding_dim=task.embedding_dim,
            units=task.units,
            num_layers=task.num_layers,
            num_heads=task.num_heads,
            dropout=task.dropout,
            name=config.model.name,
        )
    except (ValueError, TypeError) as e:
        raise _wrap("model.task", e) from None


def make_optimizer(config, learning_rate):
    """The optimizer of `config.optimizer` with `learning_rate` (a float or a schedule)."""
    import keras

    opt = config.optimizer
    kwargs = {"learning_rate": learning_rate}
    for clip in ("clipnorm", "clipvalue", "global_clipnorm"):
        if getattr(opt, clip) is not None:
            kwargs[clip] = getattr(opt, clip)
    if opt.weight_decay is not None:
        kwargs["weight_decay"] = opt.weight_decay
    if opt.name == "adam":
        return keras.optimizers.Adam(**kwargs)
    if opt.name == "adamw":
        kwargs.setdefault("weight_decay", 0.004)
        return keras.optimizers.AdamW(**kwargs)
    if opt.name == "sgd":
        return keras.optimizers.SGD(momentum=opt.momentum, **kwargs)
    return keras.optimizers.RMSprop(momentum=opt.momentum, **kwargs)


def make_learning_rate(config, base_rate, stage_steps, steps_per_epoch):
    """A float or a `WarmupCosine` schedule for one stage of `stage_steps` steps."""
    schedule = config.schedule
    if schedule.name != "cosine":
        return base_rate
    from mmkeras.train.warmup_cosine import WarmupCosine

    warmup = min(int(round(schedule.warmup_epochs * steps_per_epoch)), stage_steps)
    return WarmupCosine(
        base_rate,
        total_steps=max(stage_steps, 1),
        warmup_steps=warmup,
        min_learning_rate=min(schedule.min_learning_rate, base_rate),
    )
