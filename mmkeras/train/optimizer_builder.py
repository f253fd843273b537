"""The optimizer and learning rate of one training stage, from `config.optimizer` / `schedule`."""


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
