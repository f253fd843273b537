"""From a resolved `RunConfig` to the objects of a run: its pipeline and its model.

`resolve_config` (in `mmkeras.train.config_resolution`) comes between the two: the pipeline is
built and adapted first, and the model is built from the configuration it resolves.
"""

import os

from mmkeras.config import ConfigError
from mmkeras.train.config_resolution import resolve_checkpoint, resolve_config, resolve_path

__all__ = [
    "build_model",
    "build_pipeline",
    "make_model",
    "make_task",
    "model_inputs",
    "resolve_config",
    "resolve_path",
    "task_selector",
]


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
    kwargs["vocab"] = resolve_checkpoint(config, kwargs["vocab"])
    return TextSpec(**kwargs, start_end=start_end)


def _plain_spec(class_name):
    """The builder of a spec whose config section holds exactly its constructor arguments."""

    def make(section):
        import mmkeras.data

        return getattr(mmkeras.data, class_name)(**section.model_dump(exclude={"modality"}))

    return make


_SPEC_BUILDERS = {
    "image": _image_spec,
    "audio": _audio_spec,
    "tabular": _plain_spec("TabularSpec"),
    "categorical": _plain_spec("CategoricalSpec"),
}


def _make_spec(modality, section, config, name):
    if modality == "text":
        # Captions carry the start / end tokens a Captioner reads and writes.
        return _text_spec(section, config, start_end=name == config.caption_input)
    return _SPEC_BUILDERS[modality](section)


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
    # `Pipeline` has no `categorical=` argument: the section's spec goes to the key
    # "categorical" through `specs`.
    if data.categorical is not None:
        if "categorical" not in data.schema_ or "categorical" in data.specs:
            raise _wrap(
                "data.categorical",
                "attaches a spec to the data.schema key 'categorical', which must be in "
                "data.schema and not in data.specs",
            )
        try:
            specs["categorical"] = _make_spec("categorical", data.categorical, config, None)
        except ValueError as e:
            raise _wrap("data.categorical", e) from None
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
                name=config.model.name,
                **task.task_kwargs(),
            )
        return mmkeras.models.Captioner(
            branches[inputs["image"]], name=config.model.name, **task.task_kwargs()
        )
    except (ValueError, TypeError) as e:
        raise _wrap("model.task", e) from None


def make_model(config, pipe):
    """`(model to train, model to keep)` of a resolved config (call inside the strategy scope).

    Without `distill` both are the model of `build_model`; with it, the first is a `Distiller`
    that trains that model (the student) on the labels and the outputs of `distill.teacher`.

    Raises:
        ConfigError: `distill.teacher` is not a `.keras` file or a run directory.
    """
    import keras

    student = build_model(config)
    if not config.distill:
        return student, student
    from mmkeras.models.distiller import Distiller
    from mmkeras.models.keras_file import check_keras_file

    path = config.distill.teacher
    if os.path.isdir(path):
        path = os.path.join(path, "model.keras")
    if not os.path.isfile(path):
        raise ConfigError([f"distill.teacher: {path!r} is not a .keras file or a run directory"])
    teacher = keras.saving.load_model(check_keras_file(path), safe_mode=True)
    distiller = Distiller(
        student,
        teacher,
        temperature=config.distill.temperature,
        alpha=config.distill.alpha,
        modalities=list(pipe.input_names),
    )
    return distiller, student
