"""`fit`: a whole training run from a `RunConfig`, resumable at any step."""

import contextlib
import csv
import json
import os
import shutil

from mmkeras.config import ConfigError, dump, to_dict
from mmkeras.train import builders, determinism
from mmkeras.train.atomic import atomic_path, replace_dir, write_text
from mmkeras.train.resume_state import ResumeState, read_state
from mmkeras.train.run import Run, parse_history
from mmkeras.train.run_lock import RunLock

BACKUP = "backup"
PIPELINE = "pipeline"
CONFIG = "config.yaml"
METRICS_CSV = "metrics.csv"


def _say(verbose, message):
    if verbose:
        print(message, flush=True)


def _epoch_seed(seed, epoch):
    return (int(seed) * 1_000_003 + int(epoch)) % (2**31 - 1)


class _Stream:
    """Training batches for epochs `first..last-1`, as one dataset that `fit` reads in order.

    Each epoch's order and augmentation depend only on `(seed, epoch)`, not on how many epochs
    this process has run, so a resumed run sees the very batches an uninterrupted run would.

    Args:
        pipe, config, select: the adapted pipeline, the resolved config, the input selector.
        source: manifest or TFRecord folder (default: `config.data.train`).
        drop_remainder: drop the last incomplete batch (static shapes, equal steps per worker).
        shard: optional `(num_shards, index)`: this worker's TFRecord files.
        batches: optional number of batches per epoch (every worker of a job takes as many).
        steps_per_batch: training steps one batch makes. A worker reading its own shard
            splits each global batch into one piece per replica of the job and feeds its own
            replicas a piece per step, so a batch lasts `num_workers` steps.
        options: optional `tf.data.Options` for the dataset handed to `fit`.
    """

    def __init__(
        self,
        pipe,
        config,
        select,
        source=None,
        drop_remainder=False,
        shard=None,
        batches=None,
        steps_per_batch=1,
        options=None,
    ):
        self.pipe = pipe
        self.config = config
        self.select = select
        self.source = source or config.data.train
        self.drop_remainder = drop_remainder
        self.shard = shard
        self.batches = batches
        self.steps_per_batch = steps_per_batch
        self.options = options
        self.skips = None  # the `SkipReport` of the dataset read last

    def _read(self, seed):
        data = self.config.data
        ds, self.skips = self.pipe.dataset(
            self.source,
            training=True,
            batch_size=data.batch_size,
            shuffle=data.shuffle,
            seed=seed,
            errors=data.errors,
            drop_remainder=self.drop_remainder,
            verbose=False,
            shard=self.shard,
            return_report=True,
        )
        return ds

    def epoch_dataset(self, epoch):
        import tensorflow as tf

        ds = self._read(self.config.seed)
        counter = getattr(ds, "_mmkeras_epoch", None)
        if isinstance(counter, tf.Variable):
            # The pipeline numbers epochs by counting iterations; start it at this epoch.
            counter.assign(epoch)
        else:
            ds = self._read(_epoch_seed(self.config.seed, epoch))
        if self.batches is not None:
            # Shards may hold a few more rows than others: every worker takes as many steps.
            ds = ds.take(self.batches)
        return ds.map(self.select)

    def steps_per_epoch(self):
        import tensorflow as tf

        if self.batches is not None:
            return self.batches * self.steps_per_batch
        ds = self.epoch_dataset(0)
        steps = int(ds.cardinality())
        if steps >= 0:
            return steps
        if steps == tf.data.INFINITE_CARDINALITY:
            raise ValueError("The training dataset is infinite; it must hold one epoch.")
        return sum(1 for _ in ds)

    def dataset(self, first, last, skip=0):
        """Epochs `first..last-1`, without the first `skip` steps of epoch `first`."""
        import tensorflow as tf

        ds = self.epoch_dataset(first)
        if skip:
            ds = ds.skip(skip // self.steps_per_batch)
        if self.steps_per_batch > 1 and skip % self.steps_per_batch:
            # A resumed epoch that starts inside a batch leaves part of that batch over; one
            # more epoch at the end keeps the last epoch whole.
            last += 1
        if last - first > 1:
            rest = self.epoch_dataset(first + 1)
            # One dataset object iterated again per epoch: its epoch counter advances each time.
            ds = ds.concatenate(tf.data.Dataset.range(last - first - 1).flat_map(lambda _: rest))
        if self.options is not None:
            ds = ds.with_options(self.options)
        return ds


def _selector(model_inputs, pipe_inputs, with_present):
    """A tf.data map keeping the inputs the model takes (the teacher may need more)."""
    import tensorflow as tf

    keep = [k for k in model_inputs if k != "present"]
    order = [k for k in pipe_inputs if k != "present"]

    def select(inputs, *rest):
        out = {k: inputs[k] for k in keep}
        if with_present and "present" in inputs:
            if keep == order:
                out["present"] = inputs["present"]
            else:
                columns = [order.index(k) for k in keep]
                out["present"] = tf.gather(inputs["present"], columns, axis=1)
        return (out, *rest)

    return select


def _make_selector(config, model, pipe):
    if config.model.model_task:
        return builders.task_selector(config)
    return _selector(_input_names(model), pipe.input_names, pipe.allow_missing)


def _input_names(model):
    structure = model.input
    return list(structure) if isinstance(structure, dict) else [t.name for t in model.inputs]


# === Fine-tuning stages ===
def _pretrained_branches(config):
    if config.finetune and config.finetune.pretrained is not None:
        return list(config.finetune.pretrained)
    out = []
    for key, branch in config.model.branches.items():
        weights = branch.builder_kwargs().get("weights")
        if branch.kind == "text_bert" or (branch.kind == "image_backbone" and weights):
            out.append(key)
    return out


def _stages(config):
    """[(epochs, learning_rate, trainable)] of the run (one stage without fine-tuning)."""
    if not config.finetune:
        return [(config.train.epochs, config.optimizer.learning_rate, None)]
    return [
        (s.epochs, s.learning_rate or config.optimizer.learning_rate, s.trainable)
        for s in config.finetune.stages
    ]


def _set_all(layer, value):
    # Freezing a functional model leaves its layers' own flags as they were, and a later
    # unfreeze would keep a top-k split: set every nested layer explicitly.
    layer.trainable = value
    for inner in getattr(layer, "layers", ()):
        _set_all(inner, value)


def _set_trainable(model, config, trainable):
    if trainable is None:
        return
    for key in _pretrained_branches(config):
        branch = _branch_model(model, config, key)
        kind = config.model.branches[key].kind
        if trainable in ("none", "all"):
            _set_all(branch, trainable == "all")
        elif kind == "text_bert":
            from mmkeras.train.finetune import unfreeze_top_layers

            _set_all(branch, True)
            unfreeze_top_layers(branch, min(trainable, _num_bert_layers(branch)))
        else:
            _set_all(branch, True)
            weighted = [layer for layer in branch.layers if layer.weights]
            for i, layer in enumerate(weighted):
                _set_all(layer, i >= len(weighted) - trainable)


def _branch_model(model, config, key):
    mapping = builders.model_inputs(config)
    if mapping is None:
        return model.branches[key]
    # DualEncoder and Captioner hold their branches as attributes named after the modality.
    modality = next(name for name, k in mapping.items() if k == key)
    return getattr(model, f"{modality}_branch")


def _num_bert_layers(branch):
    return sum(1 for layer in branch.layers if layer.name.startswith("bert_layer_"))


# === Callbacks ===
def _trim_csv(path, first_epoch):
    """Drops CSV rows of epochs at or after `first_epoch` (they are trained again).

    Damaged lines are dropped too, so the log the resumed run appends to is clean.
    """
    if not os.path.isfile(path):
        return
    header, rows, _ = parse_history(path)
    if not header:
        return
    kept = [header] + [values for _, epoch, values in rows if epoch < first_epoch]
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(kept)


def _monitor(name, has_validation):
    if name.startswith("val_") and not has_validation:
        return name[len("val_") :]
    return name


def _callbacks(config, run_dir, has_validation, model_to_save):
    import keras

    from mmkeras.train.atomic_model_checkpoint import AtomicModelCheckpoint

    cbs = config.callbacks
    stateful = [
        AtomicModelCheckpoint(
            os.path.join(run_dir, "checkpoints"),
            monitor=_monitor(cbs.checkpoint.monitor, has_validation),
            mode=cbs.checkpoint.mode,
            model_to_save=model_to_save,
        )
    ]
    if cbs.early_stopping is not None:
        es = cbs.early_stopping
        stateful.append(
            keras.callbacks.EarlyStopping(
                monitor=_monitor(es.monitor, has_validation),
                patience=es.patience,
                min_delta=es.min_delta,
                mode=es.mode,
                restore_best_weights=es.restore_best_weights,
            )
        )
    if config.schedule.name == "plateau":
        sc = config.schedule
        stateful.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=_monitor(sc.monitor, has_validation),
                factor=sc.factor,
                patience=sc.patience,
                min_lr=sc.min_learning_rate,
                verbose=1 if fit_verbosity(config.train.verbose) else 0,
            )
        )
    plain = []
    if cbs.csv_log:
        plain.append(keras.callbacks.CSVLogger(os.path.join(run_dir, METRICS_CSV), append=True))
    if tensorboard_enabled(cbs.tensorboard):
        plain.append(keras.callbacks.TensorBoard(log_dir=os.path.join(run_dir, "logs")))
    return stateful, plain


def tensorboard_enabled(setting):
    """Whether `callbacks.tensorboard` (true, false or `auto`) writes TensorBoard logs here.

    Raises:
        ConfigError: `true` where the optional `tensorboard` package is not installed.
    """
    import importlib.util

    installed = importlib.util.find_spec("tensorboard") is not None
    if setting == "auto":
        return installed
    if setting and not installed:
        raise ConfigError(
            [
                "callbacks.tensorboard: true, but the tensorboard package is not installed; "
                "install it (pip install tensorboard), or set callbacks.tensorboard: auto "
                "(logs when it is installed) or false"
            ]
        )
    return bool(setting)


def fit_verbosity(setting):
    """`model.fit`'s `verbose` for `train.verbose`: `auto` is a progress bar on a terminal only.

    A progress bar redraws itself many times a second: fine on a terminal, a flood of lines in a
    log file or a CI job, which get one line per epoch instead.
    """
    import sys

    if setting != "auto":
        return setting
    in_ci = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
    return 1 if sys.stdout.isatty() and not in_ci else 2


# === The run ===
def _prepare_pipeline(config, read_dir, write_dir, resuming, verbose):
    from mmkeras.data import Pipeline

    saved = os.path.join(read_dir, PIPELINE)
    if resuming and os.path.isdir(saved):
        pipe = Pipeline.load(saved)
        if write_dir != read_dir:
            replace_dir(pipe.save, os.path.join(write_dir, PIPELINE))
        return pipe
    pipe = builders.build_pipeline(config)
    report = pipe.adapt(builders.resolve_path(config, config.data.train))
    if verbose:
        _print_data_summary(config, pipe, report)
    replace_dir(pipe.save, os.path.join(write_dir, PIPELINE))
    return pipe


def _print_data_summary(config, pipe, report):
    """What training learned from the training manifest, once, as `mmkeras validate` shows it."""
    from mmkeras.data.data_summary import input_lines, target_lines

    lines = []
    if report is not None:
        lines.append(report.summary())
        if not report.ok:
            action = (
                "they are skipped (data.errors: skip)"
                if config.data.errors == "skip"
                else "training stops on them (data.errors: raise); `mmkeras validate` lists them"
            )
            lines.append(f"  {action}")
    lines += input_lines(pipe) + target_lines(pipe)
    print("data:\n" + "\n".join("  " + line for line in lines), flush=True)


def _say_skipped(verbose, stream):
    """The rows training skipped, said once at the end of the run (not once per epoch)."""
    skips = stream.skips
    if skips is None or not skips.num_skipped:
        return
    _say(verbose, f"  skipped in the last epoch (data.errors: skip): {skips.summary()}")


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


def _check_same_config(run_dir, resolved):
    path = os.path.join(run_dir, CONFIG)
    if not os.path.isfile(path):
        return
    import yaml

    with open(path, encoding="utf-8") as f:
        saved = yaml.safe_load(f)
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


def _compile(model, config, stage_rate, stage_steps, steps_per_epoch):
    learning_rate = builders.make_learning_rate(config, stage_rate, stage_steps, steps_per_epoch)
    optimizer = builders.make_optimizer(config, learning_rate)
    kwargs = {
        "jit_compile": bool(config.train.xla),
        "steps_per_execution": config.train.steps_per_execution,
    }
    if hasattr(model, "compile_defaults"):
        model.compile_defaults(optimizer=optimizer, **kwargs)
        return
    tasks = model.student.tasks
    if model.student.single_task:
        (task,) = tasks.values()
        model.compile(optimizer=optimizer, loss=task.loss, metrics=task.metrics(), **kwargs)
        return
    model.compile(
        optimizer=optimizer,
        loss={name: t.loss for name, t in tasks.items()},
        metrics={name: t.metrics() for name, t in tasks.items()},
        loss_weights={name: t.loss_weight for name, t in tasks.items()},
        **kwargs,
    )


def _class_weight(config, pipe):
    cw = config.train.class_weight
    if cw is None:
        return None
    if cw == "balanced":
        return pipe.class_weights(config.data.train)
    labels = [str(c) for c in pipe.labels]
    unknown = [k for k in cw if k not in labels]
    if unknown:
        raise ConfigError(
            [f"train.class_weight: {unknown} are not classes; classes: {', '.join(labels)}"]
        )
    return {labels.index(k): float(w) for k, w in cw.items()}


def _final_metrics(model, pipe, config, select, drop_remainder=False, options=None):
    out = {}
    for split in ("validation", "test"):
        manifest = getattr(config.data, split)
        if manifest is None:
            continue
        ds = pipe.dataset(
            manifest,
            training=False,
            batch_size=config.data.batch_size,
            errors=config.data.errors,
            drop_remainder=drop_remainder,
            verbose=False,
        ).map(select)
        if options is not None:
            ds = ds.with_options(options)
        values = model.evaluate(ds, verbose=0, return_dict=True)
        out[split] = {k: float(v) for k, v in values.items()}
    return out


def fit(config, restart=False, verbose=True, strategy=None):
    """Trains the model a `RunConfig` describes and writes everything into its run directory.

    The run directory `output_dir/name` gets `config.yaml` (the resolved configuration, with
    every `auto` size filled in), `pipeline/` (vocabularies, labels, statistics),
    `checkpoints/best.keras` and `checkpoints/last.keras`, `metrics.csv` (one row per epoch),
    `logs/` (TensorBoard), `backup/` (resume state) and, at the end, `model.keras` and
    `metrics.json` (final validation / test metrics). Files are written under temporary
    names and renamed.

    Calling `fit` again with the same configuration after a crash or a kill resumes where the
    run stopped (epoch, batch, optimizer and random state), and ends with the same weights as
    an uninterrupted run. Calling it on a finished run returns that run.

    With `train.strategy: multi_worker` every worker of the cluster (`TF_CONFIG`) calls `fit`
    with the same configuration, at the start of its program. Only the chief writes the run
    directory; the other workers write the same files to a temporary folder they delete, and
    all of them resume from the chief's `backup/` (keep `output_dir` on storage every worker
    can read, as on one machine or a shared file system).

    Args:
        config: a `RunConfig` (from `mmkeras.config.load`) or a path to a YAML file.
        restart: delete an existing run directory of the same name and start afresh.
        verbose: print progress (per-epoch lines of `model.fit` follow `train.verbose`).
        strategy: optional strategy name overriding `train.strategy` (`"auto"`, `"default"`,
            `"mirrored"`, `"multi_worker"`, `"tpu"`), or a `tf.distribute.Strategy` to use.

    Returns:
        A `mmkeras.train.Run`.

    Raises:
        ConfigError: the configuration does not fit the data, or differs from the one of the
            run being resumed.

    Example:
    >>> run = mmkeras.train.fit(mmkeras.config.load("config.yaml"))
    >>> run.model.predict(...)
    """
    from mmkeras.config import load
    from mmkeras.train import cluster
    from mmkeras.train.strategies import STRATEGIES, get_strategy, resolve_strategy_name

    if isinstance(config, str | os.PathLike):
        config = load(config)
    if isinstance(strategy, str):
        if strategy not in STRATEGIES:
            raise ValueError(
                f"fit: `strategy` must be one of {', '.join(STRATEGIES)} or a "
                f"tf.distribute.Strategy, received {strategy!r}."
            )
        config = config.model_copy(deep=True)
        config.train.strategy = strategy
    # A multi-worker strategy must exist before any other TensorFlow operation of the process.
    if strategy is None or isinstance(strategy, str):
        strategy_name = resolve_strategy_name(config.train.strategy)
        strategy = get_strategy(strategy_name)
    else:
        strategy_name = _strategy_kind(strategy)
    chief = cluster.is_chief() if strategy_name == "multi_worker" else True
    if config.deterministic:
        determinism.enable(config.seed)

    run_dir = os.path.abspath(os.path.join(config.output_dir, config.name))
    tensorboard_enabled(config.callbacks.tensorboard)  # fail before any work, not in epoch 1
    # Only the chief locks: the workers of one job train the same run together.
    lock = RunLock(run_dir) if chief else contextlib.nullcontext()
    with lock:
        return _fit_locked(config, run_dir, restart, verbose, strategy, strategy_name, chief)


def _fit_locked(config, run_dir, restart, verbose, strategy, strategy_name, chief):
    from mmkeras.train import cluster

    multi_worker = strategy_name == "multi_worker"
    if restart and chief and os.path.isdir(run_dir):
        shutil.rmtree(run_dir)
    backup_dir = os.path.join(run_dir, BACKUP)
    # Every worker resumes from the chief's backup; a restarted job's workers all read the
    # same state, since the chief cannot save a newer one before every worker trains with it.
    state = None if restart and not chief else read_state(backup_dir)
    if state and state.get("complete") and os.path.isfile(os.path.join(run_dir, "model.keras")):
        _say(
            verbose,
            f"{run_dir}: the run is complete; nothing to do (`mmkeras train --restart` or "
            "`fit(..., restart=True)` trains it afresh)",
        )
        return Run.load(run_dir)
    os.makedirs(run_dir, exist_ok=True)
    write_dir = cluster.worker_dir(run_dir) if multi_worker else run_dir
    try:
        resuming = state is not None
        pipe = _prepare_pipeline(config, run_dir, write_dir, resuming, verbose)
        resolved = builders.resolve_config(config, pipe)
        if resuming:
            _check_same_config(run_dir, resolved)
        dump(resolved, os.path.join(write_dir, CONFIG))
        dirs = {"run": run_dir, "write": write_dir, "backup": backup_dir}
        model, metrics = _train(resolved, pipe, dirs, state, strategy, strategy_name, verbose)
    finally:
        cluster.cleanup_worker_dir(write_dir, run_dir)
    if not chief:
        # Its own files are gone; the run directory is the chief's (it may still be writing).
        return Run(run_dir, resolved, model, pipe, [], metrics)
    return Run.load(run_dir, model=model, pipeline=pipe)


def _strategy_kind(strategy):
    import tensorflow as tf

    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return "multi_worker"
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return "tpu"
    if isinstance(strategy, tf.distribute.MirroredStrategy):
        return "mirrored"
    return "default"


def _inputs(config, pipe, dirs, strategy, strategy_name, select, verbose):
    """The training stream (steps per epoch, dataset of epochs) and evaluation dataset options."""
    from mmkeras.train import cluster
    from mmkeras.train import distributed_data as dd

    replicas = strategy.num_replicas_in_sync
    dd.check_batch_size(config, strategy_name, replicas)
    static = dd.needs_static_shapes(strategy_name)
    source = None
    if config.data.shards:
        source = dd.prepare_records(config, pipe, dirs["write"], verbose)
    if strategy_name != "multi_worker":
        stream = _Stream(pipe, config, select, source=source, drop_remainder=static)
        return stream, None
    workers = cluster.num_workers()
    if source is None:
        stream = _Stream(
            pipe, config, select, drop_remainder=True, options=dd.data_sharding_options(verbose)
        )
        return stream, dd.element_sharding()
    _, index = cluster.task()
    stream = _Stream(
        pipe,
        config,
        select,
        source=source,
        drop_remainder=True,
        shard=(workers, index),
        batches=dd.sharded_batches(source, workers, config.data.batch_size),
        steps_per_batch=workers,
        options=dd.no_auto_sharding(),
    )
    _say(verbose, f"  input: {source} sharded by file over {workers} workers")
    return stream, dd.element_sharding()


def _train(config, pipe, dirs, state, strategy, strategy_name, verbose):
    import keras

    from mmkeras.train.epoch_ender import EpochEnder
    from mmkeras.train.learning_rate_logger import LearningRateLogger
    from mmkeras.train.precision import dtype_policy, resolve_precision

    run_dir, backup_dir = dirs["write"], dirs["backup"]
    keras.utils.set_random_seed(config.seed)
    policy = resolve_precision(config.train.mixed_precision, strategy_name)
    _say(
        verbose,
        f"run {config.name}: {dirs['run']}\n  strategy {strategy_name} "
        f"({strategy.num_replicas_in_sync} replica(s)), precision {policy}, "
        f"XLA {'on' if config.train.xla else 'off'}",
    )
    with dtype_policy(policy), strategy.scope():
        model, student = _make_model(config, pipe)
    if strategy.num_replicas_in_sync > 1:
        _synchronize_batch_norm(model)
    with_present = pipe.allow_missing
    select = _make_selector(config, student, pipe)
    if config.distill:
        select = _selector(pipe.input_names, pipe.input_names, with_present)
    static = strategy_name == "tpu"
    class_weight = _class_weight(config, pipe)
    stream, eval_options = _inputs(config, pipe, dirs, strategy, strategy_name, select, verbose)
    steps = stream.steps_per_epoch()
    validation = None
    if config.data.validation:
        validation = pipe.dataset(
            config.data.validation,
            training=False,
            batch_size=config.data.batch_size,
            errors=config.data.errors,
            drop_remainder=static,
            verbose=False,
        ).map(select)
        if eval_options is not None:
            validation = validation.with_options(eval_options)
    to_save = (lambda m: m.student) if config.distill else None
    stateful, plain = _callbacks(config, run_dir, validation is not None, to_save)
    stages = _stages(config)
    bounds = [sum(s[0] for s in stages[:i]) for i in range(len(stages) + 1)]
    write_backup = os.path.join(run_dir, BACKUP)

    start_stage = state["stage"] if state else 0
    if state:
        _say(
            verbose,
            f"  resuming: stage {state['stage'] + 1}, epoch {state['epoch'] + 1}, "
            f"batch {state['batch']}",
        )
        _trim_csv(os.path.join(run_dir, METRICS_CSV), state["epoch"])
    for index in range(start_stage, len(stages)):
        epochs, rate, trainable = stages[index]
        first, last = bounds[index], bounds[index + 1]
        with dtype_policy(policy), strategy.scope():
            _set_trainable(student, config, trainable)
            _compile(model, config, rate, epochs * steps, steps)
        restore = state if state and state["stage"] == index else None
        epoch, skip = first, 0
        if restore is not None:
            # The optimizer's variables are created here: in the strategy's scope.
            with strategy.scope():
                ResumeState.load_weights(model, backup_dir, restore)
            epoch, skip = restore["epoch"], restore["batch"]
            if restore.get("stage_done"):
                epoch = last
        resume = ResumeState(
            write_backup,
            stage=index,
            every_steps=config.callbacks.backup.every_steps,
            callbacks=stateful,
            restore=restore,
        )
        if restore is None:
            resume.set_model(model)
            resume.save(first, 0)
        if epoch >= last:
            state = None
            continue
        if len(stages) > 1:
            _say(
                verbose,
                f"  stage {index + 1}/{len(stages)}: epochs {first + 1}-{last}, learning rate "
                f"{rate:g}, pretrained branches trainable: {trainable}",
            )
        callbacks = [EpochEnder(steps - skip)] if skip else []
        callbacks += [LearningRateLogger(), *stateful, *plain, resume]
        train_data = stream.dataset(epoch, last, skip)
        with _keras_context(model, strategy, strategy_name, train_data.element_spec), _disk(dirs):
            model.fit(
                train_data,
                validation_data=validation,
                epochs=last,
                initial_epoch=epoch,
                steps_per_epoch=steps,
                class_weight=class_weight,
                shuffle=False,
                callbacks=callbacks,
                verbose=fit_verbosity(config.train.verbose) if verbose else 0,
            )
        state = None
    _say_skipped(verbose, stream)
    with _keras_context(student, strategy, strategy_name, None), _disk(dirs):
        metrics = _finish(config, pipe, run_dir, student, verbose, static, eval_options)
    return student, metrics


@contextlib.contextmanager
def _disk(dirs):
    """Turns a full disk met anywhere in training (a log, a checkpoint) into one clear error."""
    from mmkeras.errors import DiskFullError, disk_full_error, is_disk_full

    try:
        yield
    except DiskFullError:
        raise
    except Exception as e:
        if not is_disk_full(e):
            raise
        raise disk_full_error(
            dirs["run"],
            doing="while training the run in",
            hint="its last checkpoint and backup are kept, and the same command resumes it",
        ) from None


def _keras_context(model, strategy, strategy_name, element_spec):
    import contextlib

    if strategy_name != "multi_worker":
        return contextlib.nullcontext()
    from mmkeras.train.distributed_data import multi_worker_keras

    return multi_worker_keras(model, strategy, element_spec)


def _make_model(config, pipe):
    import keras

    student = builders.build_model(config)
    if not config.distill:
        return student, student
    from mmkeras.models.distiller import Distiller

    path = config.distill.teacher
    if os.path.isdir(path):
        path = os.path.join(path, "model.keras")
    if not os.path.isfile(path):
        raise ConfigError([f"distill.teacher: {path!r} is not a .keras file or a run directory"])
    from mmkeras.models.keras_file import check_keras_file

    teacher = keras.saving.load_model(check_keras_file(path), safe_mode=True)
    distiller = Distiller(
        student,
        teacher,
        temperature=config.distill.temperature,
        alpha=config.distill.alpha,
        modalities=list(pipe.input_names),
    )
    return distiller, student


def _keep_best(config, run_dir, student, verbose):
    """Loads the best checkpoint's weights into `student` when the config keeps the best."""
    from mmkeras.train.atomic_model_checkpoint import read_best_info

    folder = os.path.join(run_dir, "checkpoints")
    info = read_best_info(folder)
    if config.callbacks.checkpoint.keep == "final" or info is None:
        _say(verbose, "  model.keras: the weights of the last epoch")
        return
    student.load_weights(os.path.join(folder, "best.keras"))
    _say(
        verbose,
        f"  model.keras: the weights of epoch {info['epoch']} (best {info['monitor']} "
        f"{info['value']:.4f}; the last epoch's are in checkpoints/last.keras)",
    )


def _finish(config, pipe, run_dir, student, verbose, drop_remainder=False, options=None):
    if not student.compiled:
        # A distilled student was trained inside the Distiller; compile it for its own use.
        student.compile_defaults(learning_rate=config.optimizer.learning_rate)
    _keep_best(config, run_dir, student, verbose)
    with atomic_path(os.path.join(run_dir, "model.keras")) as tmp:
        student.save(tmp)
    select = _make_selector(config, student, pipe)
    metrics = _final_metrics(student, pipe, config, select, drop_remainder, options)
    write_text(os.path.join(run_dir, "metrics.json"), json.dumps(metrics, indent=2))
    backup_dir = os.path.join(run_dir, BACKUP)
    for name in os.listdir(backup_dir):
        if name.endswith(".h5"):
            os.remove(os.path.join(backup_dir, name))
    write_text(os.path.join(backup_dir, "state.json"), json.dumps({"complete": True}))
    for split, values in metrics.items():
        shown = ", ".join(f"{k} {v:.4f}" for k, v in values.items())
        _say(verbose, f"  {split}: {shown}")
    _say(verbose, f"  saved {os.path.join(run_dir, 'model.keras')}")
    return metrics


def _synchronize_batch_norm(model):
    """Makes every batch-norm layer use batch statistics all-reduced over the replicas.

    Each replica sees its own batches; with local statistics the moving mean and variance (weights
    that no gradient all-reduce touches) would drift apart between replicas and workers.
    """
    import keras

    def walk(layer):
        yield layer
        for sub in getattr(layer, "layers", []):
            yield from walk(sub)

    for layer in walk(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True
