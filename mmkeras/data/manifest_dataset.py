"""The `tf.data` graph that reads checked manifest rows: files, failures, epochs, cache."""

import functools
import sys

import tensorflow as tf

from mmkeras.data import file_checks
from mmkeras.data.data_validation_error import DataValidationError
from mmkeras.data.row_checks import check_rows
from mmkeras.data.skip_report import SkipReport


def _table(pipe, rows):
    """Column tensors of the usable rows (one entry per row, in manifest order)."""
    table = {}
    for name in pipe.input_names:
        spec = pipe.specs[name]
        table[name] = spec.table_column([r[name][0] for r in rows])
        if spec.reads_file:
            table[f"__size_{name}"] = [r[name][1] for r in rows]
    for name in pipe.target_names:
        table[f"__y_{name}"] = pipe.specs[name].table_column([r[name][0] for r in rows])
    return {
        k: tf.constant(v, tf.int64) if k.startswith("__size_") else tf.constant(v)
        for k, v in table.items()
    }


def _read_element(pipe, table, index):
    """Reads one row's files; `ok` is False when a file's size is not what was validated.

    A read that raises (a file removed or made unreadable after validation) fails the
    element; the dataset drops it with `ignore_errors` and names the row afterwards.
    """
    raw = {}
    ok = tf.constant(True)
    for name in pipe.input_names:
        value = table[name][index]
        if f"__size_{name}" in table:
            expected = table[f"__size_{name}"][index]
            data = tf.cond(
                tf.strings.length(value) > 0,
                lambda v=value: tf.io.read_file(v),
                lambda: tf.constant(""),
            )
            size = tf.cast(tf.strings.length(data), tf.int64)
            same = tf.logical_or(tf.equal(value, ""), tf.equal(size, expected))
            ok = tf.logical_and(ok, same)
            value = data
        raw[name] = value
    targets = {n: table[f"__y_{n}"][index] for n in pipe.target_names}
    return raw, targets, ok


def _record_failures(skips, files, indices, start_of_epoch, end_of_epoch):
    """Names the rows whose files failed in the graph; opens and closes epochs.

    Args:
        skips: the dataset's `SkipReport` (raises under `errors="raise"`).
        files: per table index, `(row, [(input name, path, validated size), ...])`.
        indices: int64 tensor, table indices of the rows that failed.
        start_of_epoch: bool tensor, the first element of an epoch.
        end_of_epoch: bool tensor, the end marker of an epoch.
    """
    if start_of_epoch:
        skips.start_epoch()
    for index in indices.numpy():
        row, entries = files[index]
        problems = [
            (name, path, found)
            for name, path, size in entries
            if (found := file_checks.recheck(path, size)) is not None
        ]
        if not problems and entries:
            # The read failed but the file looks fine now: it was unreadable for a while.
            name, path, _ = entries[0]
            detail = "the input pipeline could not read a file of the row"
            problems = [(name, path, ("file_unreadable", detail))]
        for name, path, (reason, detail) in problems:
            skips.record(row, name, path, reason, detail)
    if end_of_epoch:
        skips.end_epoch()
    return True


def _decode_elements(pipe, raw):
    """Decodes one element's inputs whose specs decode per element (the cacheable part)."""
    raw = dict(raw)
    for name in pipe.input_names:
        spec = pipe.specs[name]
        if spec.decodes_per_element:
            raw[f"__present/{name}"] = tf.strings.length(raw[name]) > 0
            raw[name] = spec.decode_element(raw[name])
    return raw


def _finish_elements(pipe, raw, seeds, training):
    """Finishes what `_decode_elements` decoded: random audio crops in training."""
    raw = dict(raw)
    for index, name in enumerate(pipe.input_names):
        spec = pipe.specs[name]
        if spec.decodes_per_element:
            raw[name] = spec.finish_element(raw[name], seeds, index, training)
    return raw


def _elements(pipe, rows, skips, training, shuffle, seed, cache, epoch_var, keep_alive):
    """Elements `(raw, targets, seeds)` of one epoch per iteration, in (shuffled) order.

    Files are read in the graph; a row whose read fails (a file changed, deleted or made
    unreadable after validation) is recorded in `skips` and left out. With `cache`, the rows
    are read and decoded once, in table order, and kept in memory; every epoch then orders,
    crops and augments the cached rows as an uncached dataset would (the same elements while
    no row is dropped), without reading files again.

    Args:
        pipe: the `Pipeline`.
        rows: the usable rows from `check_rows`.
        skips: the dataset's `SkipReport`.
        training: decode per element (random audio crops) for training batches.
        shuffle: reshuffle every epoch.
        seed: int, shuffling and augmentation seed.
        cache: bool, cache decoded elements in memory.
        epoch_var: int64 `tf.Variable`, the number of the next epoch (advanced per iteration).
        keep_alive: list the graph's other variables are appended to (they must live as long
            as the dataset).

    Returns:
        A `tf.data.Dataset` of `(raw, targets, seeds)`, seeds int64 `(seed, epoch, position)`.
    """
    table = _table(pipe, rows)
    n = len(rows)
    file_inputs = [name for name in pipe.input_names if f"__size_{name}" in table]
    files = [
        (r["row"], [(name, r[name][0], r[name][1]) for name in file_inputs if r[name][0]])
        for r in rows
    ]
    record_failures = functools.partial(_record_failures, skips, files)
    # With a cache, files are read once, in table order; epochs are numbered after the cache.
    read_epoch = tf.Variable(0, dtype=tf.int64, trainable=False) if cache else epoch_var
    order_var = tf.Variable(tf.zeros([n], tf.int64), trainable=False)
    keep_alive.extend([read_epoch, order_var])
    shuffle_reads = shuffle and not cache

    def epoch_order(_):
        # One element per epoch holding its whole order, then unbatched: a new iterator
        # (a new epoch) bumps the counter and reshuffles without rebuilding the pipeline.
        epoch = read_epoch.assign_add(1) - 1
        order = tf.range(n, dtype=tf.int64)
        if shuffle_reads:
            order = tf.random.experimental.stateless_shuffle(
                order, seed=tf.stack([tf.constant(seed, tf.int64), epoch])
            )
        # Kept so that `check` can name the rows at the positions a failed read left out.
        with tf.control_dependencies([order_var.assign(order)]):
            order = tf.identity(order)
        return order, tf.range(n, dtype=tf.int64), tf.fill([n], epoch)

    def read(index, position, epoch):
        raw, targets, ok = _read_element(pipe, table, index)
        seeds = tf.stack([tf.constant(seed, tf.int64), epoch, position])
        return raw, targets, seeds, ok

    def check(expected, element):
        # Positions arrive in order: a gap is rows whose read raised (`ignore_errors` left
        # them out), an element that is not ok a row whose file changed; both are recorded
        # (or raise). The end marker, at position n, closes the epoch. Python runs only for
        # these and for an epoch's first element.
        raw, targets, seeds, ok = element
        position = seeds[2]
        stop = tf.where(ok, position, tf.minimum(position + 1, n))
        start_of_epoch = tf.equal(expected, 0)
        end_of_epoch = position >= n
        done = tf.cond(
            tf.reduce_any(tf.stack([stop > expected, start_of_epoch, end_of_epoch])),
            lambda: tf.py_function(
                record_failures,
                [order_var[expected:stop], start_of_epoch, end_of_epoch],
                tf.bool,
            ),
            lambda: tf.constant(True),
        )
        return position + 1, (raw, targets, seeds, tf.logical_and(ok, done))

    ds = tf.data.Dataset.from_tensors(0).map(epoch_order).unbatch()
    ds = ds.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    raw_zeros, target_zeros = tf.nest.map_structure(
        lambda s: tf.fill(s.shape, "") if s.dtype == tf.string else tf.zeros(s.shape, s.dtype),
        ds.element_spec[:2],
    )
    end = tf.data.Dataset.from_tensors(
        (raw_zeros, target_zeros, tf.constant([0, 0, n], tf.int64), tf.constant(False))
    )
    ds = ds.ignore_errors().concatenate(end)
    ds = ds.scan(tf.constant(0, tf.int64), check)
    ds = ds.filter(lambda raw, targets, seeds, ok: ok)
    ds = ds.map(lambda raw, targets, seeds, ok: (raw, targets, seeds))
    if not cache:
        if training:
            ds = ds.map(
                lambda raw, targets, seeds: (
                    _finish_elements(pipe, _decode_elements(pipe, raw), seeds, True),
                    targets,
                    seeds,
                ),
                num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True,
            )
        return ds
    # Every usable row decoded, as one element (variable-length values as ragged tensors):
    # cached once the first epoch has read the files.
    table = ds.map(
        lambda raw, targets, seeds: (_decode_elements(pipe, raw), targets, seeds),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    table = table.ragged_batch(n).cache()

    def one_epoch(epoch):
        # Ordered after the cache, as without it: the same permutation of the same rows, and
        # the same seeds, so a cached dataset yields what an uncached one would.
        def rows_in_order(raw, targets, seeds):
            order = tf.range(tf.shape(seeds, out_type=tf.int64)[0])
            if shuffle:
                order = tf.random.experimental.stateless_shuffle(
                    order, seed=tf.stack([tf.constant(seed, tf.int64), epoch])
                )
            columns = tf.nest.map_structure(lambda t: tf.gather(t, order), (raw, targets))
            return tf.data.Dataset.from_tensor_slices(columns)

        def attach(position, element):
            seeds = tf.stack([tf.constant(seed, tf.int64), epoch, position])
            return _finish_elements(pipe, element[0], seeds, training), element[1], seeds

        return table.flat_map(rows_in_order).enumerate().map(attach)

    epochs = tf.data.Dataset.from_tensors(0).map(lambda _: epoch_var.assign_add(1) - 1)
    return epochs.flat_map(one_epoch)


def manifest_dataset(
    pipe,
    source,
    training,
    batch_size,
    shuffle,
    seed,
    errors,
    drop_remainder,
    cache,
    verbose,
    initial_epoch,
):
    """Batches `(inputs, targets)` of a manifest, and the `SkipReport` that counts the rows
    it drops; the arguments are those of `Pipeline.dataset`.

    Returns:
        `(dataset, skips)`.
    """
    rows, report = check_rows(pipe, source)
    if not report.ok and errors == "raise":
        first = report.problems[0]
        where = f" file {first.path!r}" if first.path else ""
        raise DataValidationError(
            f"{report.source}: {report.num_bad_rows} of {report.num_rows} rows cannot be used. "
            f"First: row {first.row} [{first.input}]{where}: {first.reason} - {first.detail}. "
            "Pass errors='skip' to drop them, or see pipe.validate(...) for all of them.",
            report,
        )
    if not rows:
        raise DataValidationError(f"{report.source}: no usable rows.\n{report}", report)
    skips = SkipReport(report, errors, verbose)
    if verbose and not report.ok:
        print(f"[mmkeras.data] skipped: {report.summary()}", file=sys.stderr, flush=True)
    epoch_var = tf.Variable(initial_epoch, dtype=tf.int64, trainable=False)
    variables = [epoch_var]
    ds = _elements(pipe, rows, skips, training, shuffle, seed, cache, epoch_var, variables)

    def batch_fn(raw, targets, seeds):
        inputs = pipe._transform(raw, training=training, seeds=seeds)
        return inputs, pipe._single_or_dict(targets)

    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(batch_fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    if errors == "raise":
        n = len(rows)
        batches = n // batch_size if drop_remainder else -(-n // batch_size)
        ds = ds.apply(tf.data.experimental.assert_cardinality(batches))
    # The graph holds the variables' handles only: they must live as long as the dataset.
    ds._mmkeras_variables = variables
    return ds, skips
