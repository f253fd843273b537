"""`Pipeline.dataset(cache=True)`: decoded rows kept in memory and files read once, with the
same elements as without the cache (fresh order and augmentation every epoch)."""

import numpy as np
import pytest

import mmkeras as mk

SCHEMA = {"image": "image", "text": "caption", "audio": "wav", "label": "label"}


def make_pipe(folder):
    pipe = mk.data.Pipeline(
        schema=SCHEMA,
        image=mk.data.ImageSpec(
            size=(16, 16), augment=mk.data.OpenCVAugment(rotation=30, flip="horizontal")
        ),
        text=mk.data.TextSpec(tokenizer="word", max_length=8, vocab_size=12),
        audio=mk.data.AudioSpec(
            sample_rate=8000, duration=0.1, augment=mk.data.AudioAugment(gain_db=3, noise=0.01)
        ),
        root=str(folder),
    )
    pipe.adapt(str(folder / "train.csv"))
    return pipe


def epoch(ds):
    """One pass over `ds`: `{input: array}` of every element, and the labels."""
    xs, ys = [], []
    for x, y in ds:
        xs.append({k: v.numpy() for k, v in x.items()})
        ys.append(y.numpy())
    return {k: np.concatenate([x[k] for x in xs]) for k in xs[0]}, np.concatenate(ys)


def remove_files(folder, rows):
    for row in rows:
        (folder / row["image"]).unlink()
        (folder / row["wav"]).unlink()


def test_cached_evaluation_dataset_equals_the_uncached_one(av_folder):
    folder, _ = av_folder
    pipe = make_pipe(folder)
    manifest = str(folder / "train.csv")
    plain = epoch(pipe.dataset(manifest, batch_size=5))
    cached_ds = pipe.dataset(manifest, batch_size=5, cache=True)
    for _ in range(2):  # the first epoch fills the cache, the second reads it
        x, y = epoch(cached_ds)
        np.testing.assert_array_equal(y, plain[1])
        assert list(x) == list(plain[0])
        for name in x:
            np.testing.assert_array_equal(x[name], plain[0][name])


def test_cached_dataset_reads_files_once(av_folder):
    folder, rows = av_folder
    pipe = make_pipe(folder)
    manifest = str(folder / "train.csv")
    cached, skips = pipe.dataset(
        manifest, batch_size=5, cache=True, errors="skip", return_report=True
    )
    plain = pipe.dataset(manifest, batch_size=5, errors="skip", verbose=False)
    first = epoch(cached)
    epoch(plain)
    remove_files(folder, rows)
    x, y = epoch(cached)
    np.testing.assert_array_equal(y, first[1])
    np.testing.assert_array_equal(x["image"], first[0]["image"])
    np.testing.assert_array_equal(x["audio"], first[0]["audio"])
    assert skips.num_skipped == 0
    # Without the cache the second epoch reads the files again, and finds them gone.
    with pytest.raises(Exception):  # noqa: B017 - every row is dropped: nothing to batch
        epoch(plain)


def test_cached_training_dataset_reshuffles_and_augments_every_epoch(av_folder):
    folder, rows = av_folder
    pipe = make_pipe(folder)
    manifest = str(folder / "train.csv")
    plain = pipe.dataset(manifest, training=True, batch_size=4, seed=2)
    expected = [epoch(plain) for _ in range(3)]
    cached = pipe.dataset(manifest, training=True, batch_size=4, seed=2, cache=True)
    got = [epoch(cached)]
    remove_files(folder, rows)
    got += [epoch(cached), epoch(cached)]
    # The cache changes nothing but the reading: same order, crops and augmentation.
    for (x, y), (want_x, want_y) in zip(got, expected, strict=True):
        np.testing.assert_array_equal(y, want_y)
        for name in want_x:
            np.testing.assert_array_equal(x[name], want_x[name])
    # Every row once per epoch, in a new order, with new augmentation.
    (x1, y1), (x2, y2) = got[:2]
    np.testing.assert_array_equal(np.sort(y2), np.sort(y1))
    assert not np.array_equal(y2, y1)
    assert not np.array_equal(np.sort(x2["image"], axis=0), np.sort(x1["image"], axis=0))
    assert not np.array_equal(np.sort(x2["audio"], axis=0), np.sort(x1["audio"], axis=0))


def test_cache_must_be_a_bool(av_folder):
    folder, _ = av_folder
    with pytest.raises(ValueError, match="cache"):
        make_pipe(folder).dataset(str(folder / "train.csv"), cache="memory")
