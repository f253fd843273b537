"""Files removed or made unreadable after a dataset was built: skipped and counted, or named."""

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

import mmkeras as mk


@pytest.fixture
def audio_rows(tmp_path, files):
    for i in range(5):
        files.write_wav(tmp_path / f"{i}.wav", 300.0 * (i + 1), seconds=0.15)
    rows = [{"wav": f"{i}.wav", "label": str(i)} for i in range(5)]
    pipe = mk.data.Pipeline(
        schema={"audio": "wav", "label": "label"},
        audio=mk.data.AudioSpec(sample_rate=8000, duration=0.1),
        root=str(tmp_path),
    )
    pipe.adapt(rows)
    return tmp_path, rows, pipe


def labels_of(ds):
    return [int(y) for _, ys in ds for y in ys.numpy()]


@pytest.mark.parametrize("training", [False, True])
def test_removed_file_is_skipped_and_counted(audio_rows, training):
    folder, rows, pipe = audio_rows
    ds, skips = pipe.dataset(
        rows, batch_size=2, errors="skip", training=training, verbose=False, return_report=True
    )
    assert sorted(labels_of(ds)) == [0, 1, 2, 3, 4] and skips.num_skipped == 0
    os.remove(folder / "1.wav")
    os.remove(folder / "4.wav")  # the last row: nothing follows its gap but the epoch's end
    for _ in range(2):
        assert sorted(labels_of(ds)) == [0, 2, 3]
        assert skips.counts == {"file_missing": 2} and skips.report().bad_rows == [1, 4]
    missing = skips.report().for_row(1)[0]
    assert missing.input == "audio" and missing.path.endswith("1.wav")
    assert "removed after validation" in missing.detail
    assert pipe.skipped.counts == {"file_missing": 2}


def test_removed_file_under_raise_names_row_file_and_reason(audio_rows):
    folder, rows, pipe = audio_rows
    ds = pipe.dataset(rows, batch_size=2)
    os.remove(folder / "3.wav")
    with pytest.raises(tf.errors.OpError) as e:
        labels_of(ds)
    assert not isinstance(e.value, tf.errors.NotFoundError)
    assert "DataValidationError" in e.value.message
    assert "row 3 file " in e.value.message and "3.wav" in e.value.message
    assert "file_missing - the file was removed after validation" in e.value.message


def test_unreadable_file_is_skipped_or_named(audio_rows):
    folder, rows, pipe = audio_rows
    skip_ds, skips = pipe.dataset(
        rows, batch_size=5, errors="skip", verbose=False, return_report=True
    )
    raise_ds = pipe.dataset(rows, batch_size=5)
    os.remove(folder / "2.wav")
    os.mkdir(folder / "2.wav")  # still there, but no longer a file anyone can read
    ((_, labels),) = list(skip_ds)
    np.testing.assert_array_equal(labels, [0, 1, 3, 4])
    assert skips.counts == {"file_unreadable": 1} and skips.report().bad_rows == [2]
    with pytest.raises(tf.errors.OpError, match=r"row 2 file .*2\.wav.*file_unreadable"):
        list(raise_ds)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_file_without_read_permission_is_skipped(audio_rows):
    folder, rows, pipe = audio_rows
    ds, skips = pipe.dataset(rows, batch_size=5, errors="skip", verbose=False, return_report=True)
    os.chmod(folder / "0.wav", 0)
    try:
        ((_, labels),) = list(ds)
    finally:
        os.chmod(folder / "0.wav", 0o644)
    np.testing.assert_array_equal(labels, [1, 2, 3, 4])
    assert skips.counts == {"file_unreadable": 1}


def test_file_back_in_place_is_read_again(audio_rows):
    folder, rows, pipe = audio_rows
    ds, skips = pipe.dataset(rows, batch_size=5, errors="skip", verbose=False, return_report=True)
    shutil.move(folder / "0.wav", folder / "away.wav")
    assert labels_of(ds) == [1, 2, 3, 4] and skips.num_skipped == 1
    shutil.move(folder / "away.wav", folder / "0.wav")
    assert labels_of(ds) == [0, 1, 2, 3, 4] and skips.num_skipped == 0 and skips.epochs == 2
