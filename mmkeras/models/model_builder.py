"""`build_model`: branches + fusion + task(s) -> a compiled `MultimodalModel`."""

import keras

from mmkeras.models.branch_checks import check_branch_model
from mmkeras.models.multimodal_model import PRESENT, MultimodalModel, consumes_sequences
from mmkeras.names import BRANCH_KINDS, FUSION_LAYERS
from mmkeras.tasks.task import Task

# fusion name -> layer class name in mmkeras.layers
FUSIONS = FUSION_LAYERS


def make_branch(kind, **kwargs):
    """Builds a branch from its builder name in `mmkeras.branches`, e.g. `make_branch("image_cnn", ...)`.

    Raises:
        ValueError: for an unknown kind (the message lists the allowed ones).
    """
    if kind not in BRANCH_KINDS:
        raise ValueError(f"Unknown branch kind {kind!r}. Allowed kinds: {', '.join(BRANCH_KINDS)}.")
    from mmkeras import branches

    return getattr(branches, kind)(**kwargs)


def make_fusion(fusion, default_units=None, **kwargs):
    """Returns a fusion layer from a name in `FUSIONS` (extra keyword arguments go to the layer).

    `default_units` fills the layer's required `units` argument when `kwargs` does not give it
    (`build_model` passes the widest branch feature size).

    Raises:
        ValueError: for an unknown name (the message lists the allowed ones).
    """
    import inspect

    from mmkeras import layers

    if isinstance(fusion, keras.layers.Layer):
        return fusion
    if not isinstance(fusion, str) or fusion not in FUSIONS:
        raise ValueError(
            f"Unknown fusion {fusion!r}. Allowed: {', '.join(map(repr, FUSIONS))}, "
            "or a fusion layer instance from mmkeras.layers."
        )
    cls = getattr(layers, FUSIONS[fusion])
    accepted = inspect.signature(cls.__init__).parameters
    unknown = sorted(k for k in kwargs if k not in accepted)
    if unknown:
        allowed = sorted(k for k in accepted if k not in ("self", "kwargs"))
        raise ValueError(
            f"Fusion {fusion!r} ({cls.__name__}) does not take {unknown}; it takes {allowed}."
        )
    units = accepted.get("units")
    if units is not None and units.default is inspect.Parameter.empty and "units" not in kwargs:
        if default_units is None:
            raise ValueError(f"Fusion {fusion!r} ({cls.__name__}) needs `units`.")
        heads = kwargs.get("num_heads", accepted.get("num_heads", units).default)
        if isinstance(heads, int) and heads > 0:  # attention splits units across heads
            default_units = -(-default_units // heads) * heads
        kwargs["units"] = default_units
    return cls(name="fusion", **kwargs)


def _check_branch(key, branch):
    if isinstance(branch, dict):
        branch = dict(branch)
        kind = branch.pop("kind", None)
        if kind is None:
            raise ValueError(
                f"Branch {key!r} is a dict without 'kind'. Give a keras.Model from mmkeras.branches "
                f"or a dict with 'kind' in {BRANCH_KINDS} and that builder's arguments."
            )
        branch = make_branch(kind, **branch)
    check_branch_model(f"Branch {key!r}", branch, alternatives=" or a dict with 'kind'")
    output = branch.output
    feature = output["feature"] if isinstance(output, dict) else output
    if isinstance(feature, (list, tuple)) or len(feature.shape) != 2:
        shape = (
            [tuple(o.shape) for o in feature]
            if isinstance(feature, (list, tuple))
            else tuple(feature.shape)
        )
        raise ValueError(
            f"Branch {key!r} ({branch.name}) outputs {shape}; a branch must output a feature "
            "(batch, dim), or a dict with 'feature' (batch, dim) when built with return_sequence=True. "
            "Add pooling (e.g. GlobalAveragePooling2D) at the end of a custom branch."
        )
    return branch


def _check_tasks(task):
    if isinstance(task, Task):
        return task
    if isinstance(task, dict) and task:
        checked = {}
        for name, t in task.items():
            if not isinstance(t, Task):
                raise TypeError(
                    f"Task {name!r} must be a mmkeras.tasks.Task (Classification, MultiLabel, "
                    f"Regression); received {type(t).__name__}."
                )
            checked[name] = t if t.name == name else t.with_name(name)
        return checked
    raise TypeError(
        "`task` must be a mmkeras.tasks.Task (Classification, MultiLabel, Regression) or a non-empty "
        f"dict of them for a multi-task model; received {task!r}."
    )


def build_model(
    branches,
    fusion="concat",
    task=None,
    fusion_kwargs=None,
    modality_dropout=0.0,
    compile=True,
    optimizer=None,
    learning_rate=1e-3,
    name="multimodal_model",
):
    """Builds (and compiles) a multimodal model from branches, a fusion method and task(s).

    Args:
        branches: dict `{input_name: branch}`, where a branch is a `keras.Model` from
            `mmkeras.branches` (or any single-input model ending in a feature `(batch, dim)`), or a
            dict `{"kind": builder_name, **builder_kwargs}`. The keys are the model's input names.
        fusion: a name (`"concat"`, `"sum"`, `"product"`, `"mlp"`, `"gated"`, `"attention"`,
            `"cross_attention"`, `"low_rank"`, `"tensor"`) or a fusion layer instance.
        task: a `mmkeras.tasks.Task`, or a dict `{output_name: Task}` for a multi-task model.
        fusion_kwargs: dict of arguments for the fusion layer when `fusion` is a name. Fusion
            layers that need a size (`units`) get the widest branch feature size by default.
        modality_dropout: float in [0, 1): drop whole modalities during training so the model
            copes with missing inputs.
        compile: bool, compile with Adam and the tasks' losses and metrics.
        optimizer: optional optimizer for the default compile.
        learning_rate: float, Adam's learning rate for the default compile.
        name: str, the model's name.

    Returns:
        A `mmkeras.models.MultimodalModel` (a functional `keras.Model`).

    Raises:
        ValueError / TypeError: an unknown branch kind, fusion or task, a branch that does not
            output a feature, or features the fusion layer cannot combine.

    Example:
    >>> model = mmkeras.build_model(
    ...     branches={"image": mmkeras.branches.image_cnn(input_shape=(64, 64, 3)),
    ...               "text": mmkeras.branches.text_rnn(vocab_size=5000)},
    ...     fusion="attention",
    ...     task=mmkeras.tasks.Classification(num_classes=10))
    >>> probabilities = model.predict(
    ...     {"image": np.zeros((2, 64, 64, 3)), "text": np.ones((2, 12), "int32")}, verbose=0)
    >>> probabilities.shape
    (2, 10)
    """
    if not isinstance(branches, dict) or not branches:
        raise ValueError(
            f"`branches` must be a non-empty dict {{input_name: branch}}; received {branches!r}."
        )
    if task is None:
        raise ValueError("`task` is required, e.g. mmkeras.tasks.Classification(num_classes=10).")
    checked = {}
    for key, branch in branches.items():
        if not isinstance(key, str) or not key.isidentifier() or key == PRESENT:
            raise ValueError(
                f"Branch key {key!r} is not allowed: keys name the model inputs, so they must be "
                f"identifiers, and {PRESENT!r} is reserved for the presence mask."
            )
        checked[key] = _check_branch(key, branch)
    tasks = _check_tasks(task)
    if not 0.0 <= float(modality_dropout) < 1.0:
        raise ValueError(f"`modality_dropout` must be in [0, 1), received {modality_dropout!r}.")

    if fusion_kwargs and isinstance(fusion, keras.layers.Layer):
        raise ValueError(
            "`fusion_kwargs` applies only when `fusion` is a name, not a layer instance."
        )
    widest = max(
        int((b.output["feature"] if isinstance(b.output, dict) else b.output).shape[-1])
        for b in checked.values()
    )
    fusion_layer = make_fusion(fusion, default_units=widest, **(fusion_kwargs or {}))
    if consumes_sequences(fusion_layer):
        missing = [
            k
            for k, b in checked.items()
            if not (isinstance(b.output, dict) and "sequence" in b.output)
        ]
        if missing:
            raise ValueError(
                f"Fusion {type(fusion_layer).__name__} attends over sequences, but branches {missing} "
                "output only a feature. Build them with return_sequence=True."
            )
    try:
        model = MultimodalModel(
            branches=checked,
            fusion=fusion_layer,
            tasks=tasks,
            modality_dropout=modality_dropout,
            name=name,
        )
    except ValueError as e:
        dims = {
            k: tuple((b.output["feature"] if isinstance(b.output, dict) else b.output).shape)
            for k, b in checked.items()
        }
        raise ValueError(
            f"Could not join branches {dims} with fusion {type(fusion_layer).__name__}: {e}"
        ) from e
    if compile:
        model.compile_defaults(optimizer=optimizer, learning_rate=learning_rate)
    return model
