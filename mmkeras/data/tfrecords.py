"""TFRecord shards of decoded, validated samples, and the dataset that reads them."""

import contextlib
import json
import os

import tensorflow as tf

from mmkeras.atomic_files import atomic_path, write_json
from mmkeras.data.skip_report import SkipReport
from mmkeras.data.validation_report import ValidationReport

_META_FILE = "tfrecords.json"
_IMAGE_DTYPES = ("uint8", "float32")


def write_tfrecords(
    manifest, out_dir, shards=8, pipeline=None, errors="raise", image_dtype="uint8", batch_size=32
):
    """Stores decoded, validated samples so later epochs skip file I/O and decoding.

    Each sample is run through the pipeline's deterministic preprocessing (the evaluation path)
    and written, with its targets, to `shards` files `out_dir/data-XXXXX-of-YYYYY.tfrecord`
    (round-robin, so shards are balanced) plus `tfrecords.json` describing the layout.
    `pipeline.dataset(out_dir, ...)` reads them back with file-level sharding. A progress bar
    shows the rows written.

    Args:
        manifest: CSV / JSONL path, list of dicts or DataFrame.
        out_dir: output folder (created).
        shards: int, number of files (use at least the number of workers that will read them).
        pipeline: the adapted `Pipeline` whose specs decode the samples.
        errors: `"raise"` or `"skip"`, as in `Pipeline.dataset`.
        image_dtype: `"uint8"` stores resized pixels rounded to integers (4x smaller);
            `"float32"` stores them exactly.
        batch_size: int, rows decoded at a time while writing.

    Returns:
        dict with `num_samples`, `shards`, `files` and `report` (the `ValidationReport`).
    """
    from keras.utils import Progbar

    if pipeline is None or not hasattr(pipeline, "preprocess"):
        raise ValueError(
            f"write_tfrecords: `pipeline` must be an adapted mmkeras.data.Pipeline, "
            f"received {pipeline!r}."
        )
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise ValueError(f"write_tfrecords: `shards` must be a positive int, received {shards!r}.")
    if image_dtype not in _IMAGE_DTYPES:
        raise ValueError(
            f"write_tfrecords: `image_dtype` must be one of {_IMAGE_DTYPES}, "
            f"received {image_dtype!r}."
        )
    report = pipeline.validate(manifest)
    ds = pipeline.dataset(
        manifest,
        training=False,
        batch_size=batch_size,
        shuffle=False,
        errors=errors,
        verbose=False,
    )
    os.makedirs(out_dir, exist_ok=True)
    names = [f"data-{i:05d}-of-{shards:05d}.tfrecord" for i in range(shards)]
    paths = [os.path.join(out_dir, n) for n in names]
    layout = None
    count = 0
    progbar = Progbar(report.num_good_rows, unit_name="sample")
    # Each shard is renamed into place once every shard is written; on an error none is.
    with contextlib.ExitStack() as stack:
        temporaries = [stack.enter_context(atomic_path(p)) for p in paths]
        writers = [tf.io.TFRecordWriter(tmp) for tmp in temporaries]
        stack.callback(lambda: [w.close() for w in writers])
        for inputs, targets in ds:
            targets = targets if isinstance(targets, dict) else {"": targets}
            columns = {f"in/{k}": v for k, v in inputs.items()}
            columns.update({f"y/{k}": v for k, v in targets.items()})
            for name in pipeline.input_names:
                key = f"in/{name}"
                columns[key] = pipeline.specs[name].record_value(columns[key], image_dtype)
            if layout is None:
                layout = {
                    k: {"dtype": v.dtype.name, "shape": v.shape[1:].as_list()}
                    for k, v in columns.items()
                }
            batch = {k: v.numpy() for k, v in columns.items()}
            size = len(next(iter(batch.values())))
            for j in range(size):
                feature = {
                    k: tf.train.Feature(
                        bytes_list=tf.train.BytesList(value=[tf.io.serialize_tensor(v[j]).numpy()])
                    )
                    for k, v in batch.items()
                }
                example = tf.train.Example(features=tf.train.Features(feature=feature))
                writers[count % shards].write(example.SerializeToString())
                count += 1
            progbar.add(size)
    meta = {
        "num_samples": count,
        "shards": names,
        "layout": layout,
        "image_dtype": image_dtype,
        "source": report.source,
        "skipped": report.to_dict()["counts"],
        "pipeline": pipeline.get_config(),
    }
    meta_path = os.path.join(out_dir, _META_FILE)
    write_json(meta_path, meta, indent=2)
    return {"num_samples": count, "shards": shards, "files": paths, "report": report}


def tfrecord_dataset(
    pipe,
    folder,
    training,
    batch_size,
    shuffle,
    seed,
    errors,
    drop_remainder,
    cache,
    verbose,
    initial_epoch=0,
    shard=None,
):
    """Reads a `write_tfrecords` folder as batches of `(inputs, targets)`, with its `SkipReport`
    (empty: rows were validated when the records were written); returns `(dataset, skips)`.

    Files are the unit of sharding: `shard=(num_shards, index)` keeps files `index`,
    `index + num_shards`, ... (one input pipeline of a multi-worker job), read by a parallel
    interleave; parsed samples are optionally cached; training batches get the
    specs' augmentation (images: OpenCV; audio: gain / noise / shift, no re-crop since samples
    were stored at the spec's length). Epochs are numbered from `initial_epoch`.
    """
    meta_path = os.path.join(folder, _META_FILE)
    if not os.path.isfile(meta_path):
        raise ValueError(
            f"dataset: {folder!r} is a folder without {_META_FILE}; pass a manifest file or a "
            "folder written by write_tfrecords."
        )
    meta = read_tfrecord_meta(folder)
    layout = meta["layout"]
    expected = {f"in/{n}" for n in pipe.input_specs()} | {
        f"y/{n}" if len(pipe.target_names) > 1 else "y/" for n in pipe.target_names
    }
    if set(layout) != expected:
        raise ValueError(
            f"dataset: {folder!r} holds {sorted(layout)}, but this pipeline yields "
            f"{sorted(expected)}; write the records with this pipeline."
        )
    files = [os.path.join(folder, n) for n in meta["shards"]]
    missing = [p for p in files if not os.path.isfile(p)]
    if missing:
        raise ValueError(f"dataset: TFRecord shards are missing: {missing}.")
    if shard is not None:
        num_shards, index = shard
        if len(files) < num_shards:
            raise ValueError(
                f"dataset: {folder!r} holds {len(files)} TFRecord files, fewer than the "
                f"{num_shards} input pipelines reading them; write at least {num_shards} shards."
            )
        files = files[index::num_shards]
    features = {k: tf.io.FixedLenFeature([], tf.string) for k in layout}

    def parse(record):
        parsed = tf.io.parse_single_example(record, features)
        inputs, targets = {}, {}
        for key, info in layout.items():
            value = tf.io.parse_tensor(parsed[key], tf.as_dtype(info["dtype"]))
            value = tf.ensure_shape(value, info["shape"])
            if value.dtype == tf.uint8:
                value = tf.cast(value, tf.float32)
            kind, name = key.split("/", 1)
            (inputs if kind == "in" else targets)[name] = value
        return inputs, targets

    file_ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        file_ds = file_ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    ds = file_ds.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(len(files), 8),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    ds = ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(min(meta["num_samples"], 10_000), seed=seed, reshuffle_each_iteration=True)
    epoch_var = tf.Variable(initial_epoch, dtype=tf.int64, trainable=False)

    def with_seeds(epoch):
        def attach(position, element):
            seeds = tf.stack([tf.constant(seed, tf.int64), epoch, position])
            return element[0], element[1], seeds

        return ds.enumerate().map(attach)

    out = tf.data.Dataset.from_tensors(0).map(lambda _: epoch_var.assign_add(1) - 1)
    out = out.flat_map(with_seeds).batch(batch_size, drop_remainder=drop_remainder)

    def batch_fn(inputs, targets, seeds):
        inputs = dict(inputs)
        if training:
            inputs = _augment_decoded(pipe, inputs, seeds)
        targets = targets[""] if "" in targets else targets
        return inputs, targets

    out = out.map(batch_fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    out = out.prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.FILE
    out = out.with_options(options)
    # The graph holds the variable's handle only: it must live as long as the dataset.
    out._mmkeras_variables = [epoch_var]
    skips = SkipReport(ValidationReport(os.fspath(folder), meta["num_samples"]), errors, verbose)
    return out, skips


def _augment_decoded(pipe, inputs, seeds):
    for name in pipe.input_names:
        # Input index 0 for every input: the seeds records have always been augmented with.
        inputs[name] = pipe.specs[name].augment_batch(inputs[name], seeds, 0)
    return inputs


def read_tfrecord_meta(folder):
    """The layout and sample count that `write_tfrecords` stored in `folder`."""
    with open(os.path.join(folder, _META_FILE), encoding="utf-8") as f:
        return json.load(f)
