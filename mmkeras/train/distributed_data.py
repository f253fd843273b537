"""Input of a run under a distribution strategy: TFRecord shards, file sharding, batch sizes."""

import os
import sys

from mmkeras.config import ConfigError
from mmkeras.train.atomic import replace_dir

RECORDS = os.path.join("tfrecords", "train")


def needs_static_shapes(strategy_name):
    """TPUs compile one program per input shape; multi-worker steps must match across workers."""
    return strategy_name in ("tpu", "multi_worker")


def check_batch_size(config, strategy_name, replicas):
    """The global batch size must split evenly over the replicas where shapes are static.

    Raises:
        ConfigError: `data.batch_size` is not a multiple of the number of replicas.
    """
    size = config.data.batch_size
    if needs_static_shapes(strategy_name) and size % replicas:
        raise ConfigError(
            [
                f"data.batch_size: {size} is the global batch size and must be a multiple of the "
                f"{replicas} replicas of strategy {strategy_name!r}; allowed: "
                f"{replicas * max(1, size // replicas)}, {replicas * (size // replicas + 1)}, ..."
            ]
        )


def prepare_records(config, pipe, write_dir, verbose):
    """Writes the training manifest as `data.shards` TFRecord files (once) and returns the folder.

    The folder is built under a temporary name and renamed, so a crash while writing leaves no
    half-written shards; a resumed run reuses the finished folder.
    """
    from mmkeras.train.builders import resolve_path

    folder = os.path.join(write_dir, RECORDS)
    if os.path.isfile(os.path.join(folder, "tfrecords.json")):
        return folder
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    manifest = resolve_path(config, config.data.train)
    if verbose:
        print(f"  writing {config.data.shards} TFRecord shards to {folder}", flush=True)

    def build(tmp):
        pipe.write_tfrecords(manifest, tmp, shards=config.data.shards, errors=config.data.errors)

    replace_dir(build, folder)
    return folder


def sharded_steps(folder, num_pipelines, replicas, global_batch):
    """Training steps per epoch that every input pipeline of a file-sharded job can feed.

    `write_tfrecords` deals rows to its files round-robin, so file `j` of `S` holds
    `n // S + (j < n % S)` rows; pipeline `p` reads files `p, p + P, ...`. Each step takes
    `replicas / P` batches of `global_batch / replicas` rows from every pipeline, whole
    batches only.

    Returns:
        `(steps, batches_per_step)`.

    Raises:
        ConfigError: a pipeline holds too few rows for one step.
    """
    from mmkeras.data.tfrecords import read_tfrecord_meta

    meta = read_tfrecord_meta(folder)
    total, files = meta["num_samples"], len(meta["shards"])
    counts = [total // files + (1 if j < total % files else 0) for j in range(files)]
    per_replica = global_batch // replicas
    batches_per_step = max(1, replicas // num_pipelines)
    steps = min(sum(counts[p::num_pipelines]) // per_replica for p in range(num_pipelines))
    steps //= batches_per_step
    if steps < 1:
        raise ConfigError(
            [
                f"data.batch_size: {global_batch} rows per step do not fit the {total} training "
                f"rows split over {num_pipelines} workers; use a smaller batch size"
            ]
        )
    return steps, batches_per_step


def data_sharding_options(verbose):
    """`tf.data.Options` sharding a manifest dataset by element, with a warning about its cost."""
    if verbose:
        print(
            "  warning: the training data is a manifest, so it is sharded by element: every "
            "worker reads and decodes the whole dataset each epoch and keeps its share. Set "
            "data.shards (TFRecord files, read by file) to give each worker only its own files.",
            file=sys.stderr,
            flush=True,
        )
    return element_sharding()


def element_sharding():
    """`tf.data.Options` that shard by element (datasets that cannot be sharded by file)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return options


def class_weight_map(class_weight):
    """A `tf.data` map adding per-sample weights from `{class_index: weight}` (one target)."""
    import tensorflow as tf

    size = max(class_weight) + 1
    table = tf.constant([float(class_weight.get(i, 1.0)) for i in range(size)], tf.float32)

    def add_weights(inputs, targets):
        if isinstance(targets, dict):
            raise ConfigError(["train.class_weight: applies to a single target only"])
        labels = tf.cast(tf.reshape(targets, [-1]), tf.int32)
        return inputs, targets, tf.gather(table, labels)

    return add_weights
