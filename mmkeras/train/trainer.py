"""`Trainer`: a whole training run from a `RunConfig`, read top to bottom, resumable at any step.

The path of a configuration through a run, in the order `Trainer.run` takes it:

0. `Trainer(config)`: the stage plan (`mmkeras.train.stage`), known before any data is read;
1. `check_versions`, the strategy (first: a multi-worker strategy must exist before any other
   TensorFlow operation), the run lock, and the resume state in `backup/`;
2. `prepare_pipeline`: the data pipeline, adapted to the training manifest (or loaded back);
3. `resolve_config`: every `auto` size filled in from the pipeline, checked against a resumed
   run's configuration, and saved as `config.yaml`;
4. `build`: the model (a `Distiller` around it with `distill`), the training stream, the
   validation data and the callbacks;
5. `train`, then `train_stage` once per stage: set what trains, compile (the model class's
   `compile_defaults`, with the stage's optimizer), restore a backup, `model.fit`;
6. `finish`: the model to keep (`model.keras`), the final metrics (`metrics.json`).
"""

import contextlib
import os
import shutil

from mmkeras.atomic_files import write_directory_atomically
from mmkeras.config import ConfigError, dump
from mmkeras.train import builders, determinism, run_finish
from mmkeras.train.config_resolution import resolve_config, resolve_path
from mmkeras.train.resume_check import CONFIG, check_same_config
from mmkeras.train.resume_state import ResumeState, read_state
from mmkeras.train.run import Run
from mmkeras.train.run_callbacks import (
    METRICS_CSV,
    fit_verbosity,
    make_callbacks,
    tensorboard_enabled,
    trim_csv,
)
from mmkeras.train.run_lock import RunLock
from mmkeras.train.run_output import disk_errors, print_data_summary, say, say_skipped
from mmkeras.train.stage import stage_plan

BACKUP = run_finish.BACKUP
PIPELINE = "pipeline"


def parameter_counts(model):
    """`"1,234 trainable of 5,678 (21.7%)"`: the parameters the optimizer updates in a stage."""
    import numpy as np

    total = sum(int(np.prod(w.shape)) for w in model.weights)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    share = 100.0 * trainable / total if total else 0.0
    return f"{trainable:,} trainable of {total:,} ({share:.1f}%)"


class Trainer:
    """Trains the model a `RunConfig` describes, into the run directory `output_dir/name`.

    `mmkeras.train.fit(config)` is `Trainer(config).run()`; see `fit` for the files of a run,
    resuming and multi-worker training. The `Trainer` holds the objects of the run as it
    builds them (`pipeline`, `model`, `student`, `stages`, ...), so a reader can follow a
    configuration from `run` down, one method after the other.

    Args:
        config: a `RunConfig` (from `mmkeras.config.load`) or a path to a YAML file.
        restart: delete an existing run directory of the same name and start afresh.
        verbose: print progress (per-epoch lines of `model.fit` follow `train.verbose`).
        strategy: optional strategy name overriding `train.strategy`, or a
            `tf.distribute.Strategy` to use.

    Attributes:
        config: the configuration; after `prepare_pipeline`, the resolved one.
        stages: the stage plan, a list of `mmkeras.train.stage.Stage`.
        model: the model `fit` trains (a `Distiller` with `distill`); `student`: the model kept.

    Example:
    >>> trainer = mmkeras.train.Trainer("finetune.yaml")
    >>> print(trainer.describe_plan())
    stage 1: epochs 1-1, learning rate 0.001, branches text: frozen
    stage 2: epochs 2-3, learning rate 0.0001, branches text: trainable
    >>> run = trainer.run()  # doctest: +SKIP
    """

    def __init__(self, config, restart=False, verbose=True, strategy=None):
        from mmkeras.config import load
        from mmkeras.train.strategies import STRATEGIES

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
            strategy = None
        self.config = config
        self.restart = restart
        self.verbose = verbose
        self.strategy = strategy
        self.run_dir = os.path.abspath(os.path.join(config.output_dir, config.name))
        self.backup_dir = os.path.join(self.run_dir, BACKUP)
        self.write_dir = self.run_dir
        self.strategy_name = self.chief = None
        # The plan is known before any data is read (`describe_plan`).
        self.stages = stage_plan(config)
        # Built by `prepare_pipeline` and `build`:
        self.pipeline = self.model = self.student = self.policy = None
        self.stream = self.steps = self.validation = self.eval_options = None
        self.class_weights = None
        self.stateful, self.plain = [], []

    def describe_plan(self):
        """The stage plan as text, one line per stage (which branches train, at which rate)."""
        from mmkeras.train.stage import describe_plan

        return describe_plan(self.stages)

    # === The run ===
    def run(self):
        """Trains (or resumes, or finds finished) the run; returns its `mmkeras.train.Run`.

        Raises:
            ConfigError: the configuration does not fit the data, or differs from the one of
                the run being resumed.
        """
        from mmkeras import compat

        compat.check_versions()
        self._start_strategy()
        # Seeding and determinism settings that must precede every other TensorFlow operation
        # of the run belong here, right after the strategy exists.
        if self.config.deterministic:
            determinism.enable(self.config.seed)
        tensorboard_enabled(self.config.callbacks.tensorboard)  # fail now, not in epoch 1
        # Only the chief locks: the workers of one job train the same run together.
        lock = RunLock(self.run_dir) if self.chief else contextlib.nullcontext()
        with lock:
            return self._run_locked()

    def _start_strategy(self):
        from mmkeras.train import cluster
        from mmkeras.train.strategies import get_strategy, resolve_strategy_name, strategy_kind

        # A multi-worker strategy must exist before any other TensorFlow operation of the process.
        if self.strategy is None:
            self.strategy_name = resolve_strategy_name(self.config.train.strategy)
            self.strategy = get_strategy(self.strategy_name)
        else:
            self.strategy_name = strategy_kind(self.strategy)
        self.chief = cluster.is_chief() if self.multi_worker else True

    @property
    def multi_worker(self):
        """Whether this process is one worker of a multi-worker job."""
        return self.strategy_name == "multi_worker"

    def _run_locked(self):
        from mmkeras.train import cluster

        if self.restart and self.chief and os.path.isdir(self.run_dir):
            shutil.rmtree(self.run_dir)
        # Every worker resumes from the chief's backup; a restarted job's workers all read the
        # same state, since the chief cannot save a newer one before every worker trains with it.
        state = None if self.restart and not self.chief else read_state(self.backup_dir)
        model_file = os.path.join(self.run_dir, "model.keras")
        if state and state.get("complete") and os.path.isfile(model_file):
            say(
                self.verbose,
                f"{self.run_dir}: the run is complete; nothing to do (`mmkeras train --restart` "
                "or `fit(..., restart=True)` trains it afresh)",
            )
            return Run.load(self.run_dir)
        os.makedirs(self.run_dir, exist_ok=True)
        self.write_dir = cluster.worker_dir(self.run_dir) if self.multi_worker else self.run_dir
        try:
            self.prepare_pipeline(resuming=state is not None)
            self.build()
            metrics = self.train(state)
        finally:
            cluster.cleanup_worker_dir(self.write_dir, self.run_dir)
        if not self.chief:
            # Its own files are gone; the run directory is the chief's (it may still be writing).
            return Run(self.run_dir, self.config, self.student, self.pipeline, [], metrics)
        return Run.load(self.run_dir, model=self.student, pipeline=self.pipeline)

    # === Data and configuration ===
    def prepare_pipeline(self, resuming):
        """Builds and adapts the pipeline (or loads a resumed run's), then resolves the config.

        Writes `pipeline/` and `config.yaml`; a resumed run must have the configuration it
        started with.
        """
        from mmkeras.data import Pipeline

        saved = os.path.join(self.run_dir, PIPELINE)
        if resuming and os.path.isdir(saved):
            pipe = Pipeline.load(saved)
            if self.write_dir != self.run_dir:
                write_directory_atomically(
                    pipe.save, os.path.join(self.write_dir, PIPELINE), what="pipeline"
                )
        else:
            pipe = builders.build_pipeline(self.config)
            report = pipe.adapt(resolve_path(self.config, self.config.data.train))
            if self.verbose:
                print_data_summary(self.config, pipe, report)
            write_directory_atomically(
                pipe.save, os.path.join(self.write_dir, PIPELINE), what="pipeline"
            )
        self.pipeline = pipe
        self.config = resolve_config(self.config, pipe)
        if resuming:
            check_same_config(self.run_dir, self.config)
        dump(self.config, os.path.join(self.write_dir, CONFIG))

    def _class_weights(self):
        """`model.fit`'s `class_weight` of `train.class_weight` (None without one).

        Raises:
            ConfigError: a class the weights name is not a class of the data.
        """
        cw = self.config.train.class_weight
        if cw is None:
            return None
        if cw == "balanced":
            return self.pipeline.class_weights(self.config.data.train)
        labels = [str(c) for c in self.pipeline.labels]
        unknown = [k for k in cw if k not in labels]
        if unknown:
            raise ConfigError(
                [f"train.class_weight: {unknown} are not classes; classes: {', '.join(labels)}"]
            )
        return {labels.index(k): float(w) for k, w in cw.items()}

    # === Model, inputs, callbacks, stages ===
    def build(self):
        """Builds the model, the training stream, the validation data and the callbacks."""
        import keras

        from mmkeras.train.precision import dtype_policy, resolve_precision
        from mmkeras.train.strategies import synchronize_batch_norm
        from mmkeras.train.training_stream import make_selector, selector, training_stream

        config, pipe, strategy = self.config, self.pipeline, self.strategy
        keras.utils.set_random_seed(config.seed)
        self.policy = resolve_precision(config.train.mixed_precision, self.strategy_name)
        say(
            self.verbose,
            f"run {config.name}: {self.run_dir}\n  strategy {self.strategy_name} "
            f"({strategy.num_replicas_in_sync} replica(s)), precision {self.policy}, "
            f"XLA {'on' if config.train.xla else 'off'}",
        )
        with dtype_policy(self.policy), strategy.scope():
            self.model, self.student = builders.make_model(config, pipe)
        if strategy.num_replicas_in_sync > 1:
            synchronize_batch_norm(self.model)
        if config.distill:
            # The teacher may read inputs the student does not: the Distiller gets them all.
            select = selector(pipe.input_names, pipe.input_names, pipe.allow_missing)
        else:
            select = make_selector(config, self.student, pipe)
        self.class_weights = self._class_weights()
        self.stream, self.eval_options = training_stream(
            config, pipe, self.write_dir, strategy, self.strategy_name, select, self.verbose
        )
        self.steps = self.stream.steps_per_epoch()
        self.validation = self._evaluation_data(config.data.validation, select)
        to_save = (lambda m: m.student) if config.distill else None
        self.stateful, self.plain = make_callbacks(
            config, self.write_dir, self.validation is not None, to_save
        )

    def _evaluation_data(self, manifest, select):
        from mmkeras.train.training_stream import cache_decoded_rows

        if not manifest:
            return None
        ds = self.pipeline.dataset(
            manifest,
            training=False,
            batch_size=self.config.data.batch_size,
            errors=self.config.data.errors,
            drop_remainder=self.strategy_name == "tpu",
            verbose=False,
            cache=cache_decoded_rows(self.config.data.cache, self.pipeline, manifest),
        ).map(select)
        if self.eval_options is not None:
            ds = ds.with_options(self.eval_options)
        return ds

    def _keras_context(self, model, element_spec):
        if not self.multi_worker:
            return contextlib.nullcontext()
        from mmkeras.compat import multi_worker_keras

        return multi_worker_keras(model, self.strategy, element_spec)

    # === Training ===
    def train(self, state=None):
        """Trains every stage of the plan from `state` (a resume state, or None), then finishes.

        Returns:
            The final metrics, `{split: {metric: value}}`.
        """
        if state:
            say(
                self.verbose,
                f"  resuming: stage {state['stage'] + 1}, epoch {state['epoch'] + 1}, "
                f"batch {state['batch']}",
            )
            trim_csv(os.path.join(self.write_dir, METRICS_CSV), state["epoch"])
        start = state["stage"] if state else 0
        for stage in self.stages[start:]:
            self.train_stage(stage, state if state and state["stage"] == stage.index else None)
        say_skipped(self.verbose, self.stream)
        with self._keras_context(self.student, None), disk_errors(self.run_dir):
            return self.finish()

    def train_stage(self, stage, restore=None):
        """Sets what trains, compiles, restores a backup of this stage if any, and fits."""
        from mmkeras.train.epoch_ender import EpochEnder
        from mmkeras.train.learning_rate_logger import LearningRateLogger
        from mmkeras.train.precision import dtype_policy
        from mmkeras.train.stage import branch_models

        model, strategy = self.model, self.strategy
        with dtype_policy(self.policy), strategy.scope():
            stage.apply(branch_models(self.student, self.config))
            self.compile_stage(stage)
        epoch, skip = stage.first_epoch, 0
        if restore is not None:
            # The optimizer's variables are created here: in the strategy's scope.
            with strategy.scope():
                ResumeState.load_weights(model, self.backup_dir, restore)
            epoch, skip = restore["epoch"], restore["batch"]
            if restore.get("stage_done"):
                epoch = stage.last_epoch
        resume = ResumeState(
            os.path.join(self.write_dir, BACKUP),
            stage=stage.index,
            every_steps=self.config.callbacks.backup.every_steps,
            callbacks=self.stateful,
            restore=restore,
        )
        if restore is None:
            resume.set_model(model)
            resume.save(stage.first_epoch, 0)
        if epoch >= stage.last_epoch:
            return
        if len(self.stages) > 1:
            say(
                self.verbose,
                f"  stage {stage.index + 1}/{len(self.stages)}: epochs {stage.first_epoch + 1}-"
                f"{stage.last_epoch}, learning rate {stage.learning_rate:g}, pretrained branches "
                f"trainable: {stage.trainable}",
            )
        say(self.verbose, f"  parameters: {parameter_counts(model)}")
        callbacks = [EpochEnder(self.steps - skip)] if skip else []
        callbacks += [LearningRateLogger(), *self.stateful, *self.plain, resume]
        data = self.stream.dataset(epoch, stage.last_epoch, skip)
        with self._keras_context(model, data.element_spec), disk_errors(self.run_dir):
            model.fit(
                data,
                validation_data=self.validation,
                epochs=stage.last_epoch,
                initial_epoch=epoch,
                steps_per_epoch=self.steps,
                class_weight=self.class_weights,
                shuffle=False,
                callbacks=callbacks,
                verbose=fit_verbosity(self.config.train.verbose) if self.verbose else 0,
            )

    def compile_stage(self, stage):
        """Compiles the model for `stage`: its own `compile_defaults`, the stage's optimizer."""
        from mmkeras.train.optimizer_builder import make_learning_rate, make_optimizer

        config = self.config
        learning_rate = make_learning_rate(
            config, stage.learning_rate, stage.epochs * self.steps, self.steps
        )
        self.model.compile_defaults(
            optimizer=make_optimizer(config, learning_rate),
            jit_compile=bool(config.train.xla),
            steps_per_execution=config.train.steps_per_execution,
        )

    # === The end ===
    def finish(self):
        """Saves the model to keep and the final metrics; marks the run complete."""
        from mmkeras.train.training_stream import make_selector

        config, student = self.config, self.student
        if not student.compiled:
            # A distilled student was trained inside the Distiller; compile it for its own use.
            student.compile_defaults(learning_rate=config.optimizer.learning_rate)
        run_finish.keep_best(config, self.write_dir, student, self.verbose)
        run_finish.save_model(self.write_dir, student)
        select = make_selector(config, student, self.pipeline)
        metrics = run_finish.final_metrics(
            student,
            self.pipeline,
            config,
            select,
            drop_remainder=self.strategy_name == "tpu",
            options=self.eval_options,
        )
        run_finish.write_results(self.write_dir, metrics, self.verbose)
        return metrics


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
    >>> run = mmkeras.train.fit(mmkeras.config.load("run.yaml"))  # trained already: read back
    /.../runs/pets: the run is complete; nothing to do (...)
    >>> run.model.predict(val_ds, verbose=0).shape
    (4, 2)
    """
    return Trainer(config, restart=restart, verbose=verbose, strategy=strategy).run()
