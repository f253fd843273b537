"""The argument checks of `Pipeline.dataset`."""

import os

_ERRORS = ("raise", "skip")


def check_dataset_args(source, batch_size, seed, errors, cache, shard, initial_epoch):
    """Raises `ValueError` naming the first argument of `Pipeline.dataset` that is not allowed."""
    if errors not in _ERRORS:
        raise ValueError(f"dataset: `errors` must be one of {_ERRORS}, received {errors!r}.")
    for arg, value, low in (("batch_size", batch_size, 1), ("initial_epoch", initial_epoch, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            allowed = "a positive int" if low else "a non-negative int"
            raise ValueError(f"dataset: `{arg}` must be {allowed}, received {value!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"dataset: `seed` must be a non-negative int, received {seed!r}.")
    if not isinstance(cache, bool):
        raise ValueError(f"dataset: `cache` must be a bool, received {cache!r}.")
    if shard is None:
        return
    ok = (
        isinstance(shard, tuple | list)
        and len(shard) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in shard)
        and 0 <= shard[1] < shard[0]
    )
    if not ok:
        raise ValueError(
            "dataset: `shard` must be (num_shards, index) with 0 <= index < num_shards, "
            f"received {shard!r}."
        )
    if not (isinstance(source, str | os.PathLike) and os.path.isdir(source)):
        raise ValueError(
            "dataset: `shard` applies to TFRecord folders (sharded by file); for a "
            f"manifest, received {source!r}, write the rows with write_tfrecords first."
        )
