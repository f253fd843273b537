"""`data.cache`: a training run keeps its decoded rows in memory after the first epoch."""

import numpy as np
import pytest

import mmkeras as mk
from mmkeras.config import from_dict
from mmkeras.train import training_stream as ts
from tests.data.conftest import make_dataset, write_csv


@pytest.fixture
def av_folder(tmp_path):
    rows = make_dataset(tmp_path)
    write_csv(tmp_path / "train.csv", rows)
    return tmp_path, rows


def _pipe(folder):
    pipe = mk.data.Pipeline(
        schema={"image": "image", "label": "label"},
        image=mk.data.ImageSpec(size=(16, 16), augment=mk.data.OpenCVAugment(rotation=30)),
        root=str(folder),
    )
    pipe.adapt(str(folder / "train.csv"))
    return pipe


def _config(folder, cache):
    return from_dict(
        {
            "seed": 3,
            "data": {
                "train": str(folder / "train.csv"),
                "schema": {"image": "image", "label": "label"},
                "image": {"size": [16, 16]},
                "batch_size": 4,
                "cache": cache,
            },
            "model": {
                "branches": {"image": {"kind": "image_cnn"}},
                "task": {"kind": "classification"},
            },
        }
    )


def test_auto_caches_a_manifest_that_fits_and_not_one_that_does_not(av_folder, monkeypatch):
    folder, rows = av_folder
    pipe = _pipe(folder)
    manifest = str(folder / "train.csv")
    assert ts.decoded_row_nbytes(pipe) == 16 * 16 * 3 * 4
    assert ts.cache_decoded_rows("auto", pipe, manifest) is True
    monkeypatch.setattr(ts, "CACHE_LIMIT_BYTES", len(rows) * 16 * 16 * 3 * 4 - 1)
    assert ts.cache_decoded_rows("auto", pipe, manifest) is False
    assert ts.cache_decoded_rows(True, pipe, manifest) is True
    assert ts.cache_decoded_rows(False, pipe, manifest) is False
    assert ts.cache_decoded_rows("auto", pipe, str(folder)) is False  # a TFRecord folder


@pytest.mark.parametrize("cache", [True, False])
def test_a_cached_stream_reads_the_files_in_the_first_epoch_only(av_folder, cache):
    folder, rows = av_folder
    pipe = _pipe(folder)
    config = _config(folder, cache)
    stream = ts.TrainingStream(pipe, config, lambda x, y: (x, y), cache=cache)
    steps = stream.steps_per_epoch()
    it = iter(stream.dataset(0, 3))
    first = [next(it)[1].numpy() for _ in range(steps)]
    for row in rows:
        (folder / row["image"]).unlink()
    if not cache:
        with pytest.raises(Exception):  # noqa: B017 - the files are gone
            next(it)
        return
    later = [batch[1].numpy() for batch in it]
    assert len(later) == 2 * steps
    # The same rows, reshuffled every epoch.
    labels = np.sort(np.concatenate(first))
    np.testing.assert_array_equal(np.sort(np.concatenate(later[:steps])), labels)
    np.testing.assert_array_equal(np.sort(np.concatenate(later[steps:])), labels)
