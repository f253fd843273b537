"""`SkipReport`: the rows a dataset drops, read through an API; nothing printed per epoch."""

import os

import pytest

import mmkeras as mk


@pytest.fixture
def half_bad(tmp_path, files):
    for i in range(4):
        files.write_wav(tmp_path / f"{i}.wav", 300.0 * (i + 1), seconds=0.15)
    rows = [{"wav": f"{i}.wav", "label": "ab"[i % 2]} for i in range(4)]
    rows += [{"wav": "missing.wav", "label": "a"}, {"wav": "4.wav", "label": "b"}]
    files.write_wav(tmp_path / "4.wav", 100.0, seconds=0.15)
    pipe = mk.data.Pipeline(
        schema={"audio": "wav", "label": "label"},
        audio=mk.data.AudioSpec(sample_rate=8000, duration=0.1),
        root=str(tmp_path),
    )
    pipe.adapt(rows)
    return tmp_path, rows, pipe


def test_report_counts_validation_and_runtime_skips(half_bad):
    folder, rows, pipe = half_bad
    ds, skips = pipe.dataset(rows, batch_size=4, errors="skip", verbose=False, return_report=True)
    assert isinstance(skips, mk.data.SkipReport)
    assert skips.validation.counts == {"file_missing": 1}
    assert skips.epochs == 0 and skips.num_skipped == 1  # before reading: validation's rows
    list(ds)
    assert skips.epochs == 1 and skips.num_skipped == 1
    os.remove(folder / "4.wav")
    list(ds)
    assert skips.epochs == 2 and skips.num_skipped == 2
    assert skips.counts == {"file_missing": 2} and skips.report().bad_rows == [4, 5]
    assert "2 of 6 rows unusable" in skips.summary()
    assert pipe.skipped.bad_rows == [4, 5]  # the pipeline's last dataset, the same report


def test_without_return_report_a_dataset_is_returned(half_bad):
    _, rows, pipe = half_bad
    ds = pipe.dataset(rows, batch_size=4, errors="skip", verbose=False)
    assert hasattr(ds, "element_spec")


def test_skips_are_printed_once_not_every_epoch(half_bad, capfd):
    folder, rows, pipe = half_bad
    ds = pipe.dataset(rows, batch_size=4, errors="skip")
    for _ in range(3):
        list(ds)
    assert capfd.readouterr().err.count("1 of 6 rows unusable") == 1
    os.remove(folder / "4.wav")  # found while reading: said once, when first found
    for _ in range(3):
        list(ds)
    err = capfd.readouterr().err
    assert err.count("[mmkeras.data]") == 1 and "row 5 file" in err and "file_missing" in err


def test_quiet_dataset_prints_nothing(half_bad, capfd):
    folder, rows, pipe = half_bad
    ds = pipe.dataset(rows, batch_size=4, errors="skip", verbose=False)
    list(ds)
    os.remove(folder / "4.wav")
    list(ds)
    assert "[mmkeras.data]" not in capfd.readouterr().err


def test_an_unfinished_epoch_does_not_add_to_the_next(half_bad):
    folder, _, pipe = half_bad
    rows = [{"wav": f"{i % 4}.wav", "label": "ab"[i % 2]} for i in range(200)]
    ds, skips = pipe.dataset(rows, batch_size=1, errors="skip", verbose=False, return_report=True)
    os.remove(folder / "0.wav")  # rows 0, 4, 8, ...
    list(ds.take(2))  # a loop that stops early, having met row 0 and maybe more
    list(ds)
    assert skips.counts == {"file_missing": 50} and skips.report().bad_rows[:2] == [0, 4]
