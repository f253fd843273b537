"""The training input of a run: one dataset of epochs that a resumed run can re-enter."""

import os

from mmkeras.train.builders import task_selector


class TrainingStream:
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
        cache: bool, keep the decoded rows in memory after the first epoch
            (`Pipeline.dataset(cache=...)`); see `cache_decoded_rows`.
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
        cache=False,
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
        self.cache = cache
        self.skips = None  # the `SkipReport` of the dataset read last

    def epoch_dataset(self, epoch):
        data = self.config.data
        # Epoch numbers seed shuffling and augmentation: the dataset starts at this epoch.
        ds, self.skips = self.pipe.dataset(
            self.source,
            training=True,
            batch_size=data.batch_size,
            shuffle=data.shuffle,
            seed=self.config.seed,
            errors=data.errors,
            drop_remainder=self.drop_remainder,
            verbose=False,
            shard=self.shard,
            return_report=True,
            initial_epoch=epoch,
            cache=self.cache,
        )
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

        epochs = self.epoch_dataset(first)
        ds = epochs.skip(skip // self.steps_per_batch) if skip else epochs
        if self.steps_per_batch > 1 and skip % self.steps_per_batch:
            # A resumed epoch that starts inside a batch leaves part of that batch over; one
            # more epoch at the end keeps the last epoch whole.
            last += 1
        if last - first > 1:
            # One dataset object iterated again per epoch: its epoch counter advances each time,
            # and with `cache` its decoded rows are read from files in the first epoch only.
            more = tf.data.Dataset.range(last - first - 1).flat_map(lambda _: epochs)
            ds = ds.concatenate(more)
        if self.options is not None:
            ds = ds.with_options(self.options)
        return ds


CACHE_LIMIT_BYTES = 1 << 30


def decoded_row_nbytes(pipe):
    """Bytes one decoded row takes in memory: the sum over the model inputs of the pipeline."""
    import numpy as np

    return sum(
        int(np.prod(info["shape"] or (1,))) * np.dtype(info["dtype"]).itemsize
        for info in pipe.input_specs().values()
    )


def _count_rows(manifest):
    with open(manifest, encoding="utf-8-sig", newline="") as f:
        return max(sum(1 for line in f if line.strip()) - 1, 0)


def cache_decoded_rows(setting, pipe, manifest):
    """Whether training keeps decoded rows in memory (`data.cache`).

    `True` / `False` are taken as they are. `"auto"` caches a manifest whose decoded rows fit in
    `CACHE_LIMIT_BYTES` (1 GiB); TFRecord folders (`data.shards`) already hold decoded rows and
    are not cached.
    """
    if setting != "auto":
        return bool(setting)
    if manifest is None or os.path.isdir(manifest) or not os.path.isfile(manifest):
        return False
    return _count_rows(manifest) * decoded_row_nbytes(pipe) <= CACHE_LIMIT_BYTES


def selector(model_inputs, pipe_inputs, with_present):
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


def make_selector(config, model, pipe):
    """The tf.data map from the pipeline's batches to what `model` takes."""
    if config.model.model_task:
        return task_selector(config)
    return selector(_input_names(model), pipe.input_names, pipe.allow_missing)


def _input_names(model):
    structure = model.input
    return list(structure) if isinstance(structure, dict) else [t.name for t in model.inputs]


def training_stream(config, pipe, write_dir, strategy, strategy_name, select, verbose):
    """The `TrainingStream` of a run under its strategy, and the evaluation dataset options.

    One process reads the manifest (or the TFRecord shards of `data.shards`); under
    `multi_worker` each worker reads its own TFRecord files, or, from a manifest, every worker
    reads all of it and keeps its share of the elements.

    Returns:
        `(stream, options)`: options are the `tf.data.Options` for evaluation datasets (None
        outside `multi_worker`).
    """
    from mmkeras.train import cluster
    from mmkeras.train import distributed_data as dd

    replicas = strategy.num_replicas_in_sync
    dd.check_batch_size(config, strategy_name, replicas)
    static = dd.needs_static_shapes(strategy_name)
    source = None
    if config.data.shards:
        source = dd.prepare_records(config, pipe, write_dir, verbose)
    if strategy_name != "multi_worker":
        cache = cache_decoded_rows(config.data.cache, pipe, source or config.data.train)
        stream = TrainingStream(
            pipe, config, select, source=source, drop_remainder=static, cache=cache
        )
        return stream, None
    workers = cluster.num_workers()
    if source is None:
        stream = TrainingStream(
            pipe,
            config,
            select,
            drop_remainder=True,
            options=dd.data_sharding_options(verbose),
            cache=cache_decoded_rows(config.data.cache, pipe, config.data.train),
        )
        return stream, dd.element_sharding()
    _, index = cluster.task()
    stream = TrainingStream(
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
    if verbose:
        print(f"  input: {source} sharded by file over {workers} workers", flush=True)
    return stream, dd.element_sharding()
