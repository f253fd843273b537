"""The training input of a run: one dataset of epochs that a resumed run can re-enter."""

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
        stream = TrainingStream(pipe, config, select, source=source, drop_remainder=static)
        return stream, None
    workers = cluster.num_workers()
    if source is None:
        stream = TrainingStream(
            pipe, config, select, drop_remainder=True, options=dd.data_sharding_options(verbose)
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
