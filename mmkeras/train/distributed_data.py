"""Input of a run under a distribution strategy: TFRecord shards, file sharding, batch sizes."""

import os
import sys

from mmkeras.atomic_files import write_directory_atomically
from mmkeras.config import ConfigError

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
    from mmkeras.train.config_resolution import resolve_path

    folder = os.path.join(write_dir, RECORDS)
    if os.path.isfile(os.path.join(folder, "tfrecords.json")):
        return folder
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    manifest = resolve_path(config, config.data.train)
    if verbose:
        print(f"  writing {config.data.shards} TFRecord shards to {folder}", flush=True)

    def build(tmp):
        pipe.write_tfrecords(manifest, tmp, shards=config.data.shards, errors=config.data.errors)

    write_directory_atomically(build, folder, what="TFRecord folder")
    return folder


def sharded_batches(folder, num_workers, global_batch):
    """Global batches per epoch that every worker of a file-sharded job can read.

    `write_tfrecords` deals rows to its files round-robin, so file `j` of `S` holds
    `n // S + (j < n % S)` rows; worker `w` reads files `w, w + W, ...` and whole batches only.

    Raises:
        ConfigError: a worker's files hold fewer rows than one batch.
    """
    from mmkeras.data.tfrecords import read_tfrecord_meta

    meta = read_tfrecord_meta(folder)
    total, files = meta["num_samples"], len(meta["shards"])
    counts = [total // files + (1 if j < total % files else 0) for j in range(files)]
    batches = min(sum(counts[w::num_workers]) // global_batch for w in range(num_workers))
    if batches < 1:
        raise ConfigError(
            [
                f"data.batch_size: {global_batch} is more than the rows each of the "
                f"{num_workers} workers reads from the {total} training rows; use a smaller "
                "batch size"
            ]
        )
    return batches


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


def no_auto_sharding():
    """`tf.data.Options` for a dataset each worker already reads its own share of."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return options
