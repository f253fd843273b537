import csv
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from mmkeras.datasets import AVDigits, load_av_digits

SPLIT_SIZES = {"train": 1257, "validation": 270, "test": 270}
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data():
    return load_av_digits()


@pytest.fixture(scope="module")
def rows(data):
    return {split: data.rows(split) for split in SPLIT_SIZES}


def test_loader_points_at_the_bundled_files(data):
    assert data.root.is_dir()
    assert (data.root / "README.md").is_file()
    for split in SPLIT_SIZES:
        path = getattr(data, split)
        assert path == data.manifest(split) == data.root / f"{split}.csv"
        assert path.is_file()
    assert data.schema == {"image": "image", "text": "text", "audio": "audio", "label": "label"}
    assert data.labels == [str(d) for d in range(10)]
    assert data.sample_rate == 8000
    assert data.image_size == (32, 32)


def test_manifests_have_the_documented_columns_and_counts(data, rows):
    for split, size in SPLIT_SIZES.items():
        with open(data.manifest(split), newline="", encoding="utf-8") as f:
            assert next(csv.reader(f)) == ["image", "audio", "text", "label"]
        assert len(rows[split]) == size


def test_every_split_holds_every_digit_in_similar_proportion(data, rows):
    for split, size in SPLIT_SIZES.items():
        counts = np.bincount([data.labels.index(r["label"]) for r in rows[split]], minlength=10)
        assert counts.sum() == size
        # Stratified split: each digit is about a tenth of every split.
        assert counts.min() >= 0.08 * size and counts.max() <= 0.12 * size


def test_every_referenced_file_exists_and_texts_are_not_empty(data, rows):
    for split_rows in rows.values():
        for row in split_rows:
            assert (data.root / row["image"]).is_file(), row["image"]
            assert (data.root / row["audio"]).is_file(), row["audio"]
            assert not Path(row["image"]).is_absolute()
            assert row["text"].strip()


def test_splits_share_no_image_and_no_audio_clip(rows):
    for modality in ("image", "audio"):
        used = {split: {r[modality] for r in split_rows} for split, split_rows in rows.items()}
        assert not used["train"] & used["validation"]
        assert not used["train"] & used["test"]
        assert not used["validation"] & used["test"]
    images = [r["image"] for split_rows in rows.values() for r in split_rows]
    assert len(set(images)) == len(images) == sum(SPLIT_SIZES.values())


def test_wavs_are_16_bit_mono_pcm_at_the_stated_rate(data, rows):
    clips = {r["audio"] for split_rows in rows.values() for r in split_rows}
    for name in clips:
        with wave.open(str(data.root / name), "rb") as f:
            assert f.getcomptype() == "NONE"
            assert f.getsampwidth() == 2
            assert f.getnchannels() == 1
            assert f.getframerate() == data.sample_rate
            seconds = f.getnframes() / data.sample_rate
        assert 0.6 <= seconds <= data.duration


def test_images_decode_to_the_stated_size(data, rows):
    import cv2

    for split_rows in rows.values():
        for row in split_rows:
            image = cv2.imread(str(data.root / row["image"]), cv2.IMREAD_UNCHANGED)
            assert image is not None and image.dtype == np.uint8
            assert image.shape == data.image_size


def test_images_decode_with_tensorflow_as_rgb(data, rows):
    import tensorflow as tf

    for row in rows["test"][:5]:
        raw = tf.io.read_file(str(data.root / row["image"]))
        image = tf.io.decode_image(raw, channels=3)
        assert tuple(image.shape) == (*data.image_size, 3)


def test_as_arrays_shapes_dtypes_and_values(data, rows):
    arrays = data.as_arrays("validation")
    n = SPLIT_SIZES["validation"]
    assert arrays["image"].shape == (n, 32, 32, 1) and arrays["image"].dtype == np.uint8
    assert arrays["audio"].shape == (n, 8000) and arrays["audio"].dtype == np.float32
    assert np.abs(arrays["audio"]).max() <= 1.0
    # Every clip carries sound, not silence.
    assert (np.abs(arrays["audio"]).max(axis=1) > 0.5).all()
    assert arrays["label"].dtype == np.int64
    assert sorted(set(arrays["label"].tolist())) == list(range(10))
    assert arrays["text"] == [r["text"] for r in rows["validation"]]
    assert arrays["label"].tolist() == [int(r["label"]) for r in rows["validation"]]


def test_as_arrays_crops_audio_and_repeats_gray_to_rgb(data):
    full = data.as_arrays("test")
    short = data.as_arrays("test", audio_length=4000, channels=3)
    assert short["audio"].shape == (SPLIT_SIZES["test"], 4000)
    np.testing.assert_array_equal(short["audio"], full["audio"][:, :4000])
    assert short["image"].shape == (SPLIT_SIZES["test"], 32, 32, 3)
    for c in range(3):
        np.testing.assert_array_equal(short["image"][..., c], full["image"][..., 0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"split": "valid"}, "split"),
        ({"split": "train", "channels": 2}, "channels"),
        ({"split": "train", "audio_length": 0}, "audio_length"),
    ],
)
def test_as_arrays_rejects_bad_arguments(data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.as_arrays(**kwargs)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="make_av_digits"):
        load_av_digits(tmp_path)
    assert isinstance(load_av_digits(), AVDigits)


def test_dataset_stays_small(data):
    total = sum(p.stat().st_size for p in data.root.rglob("*") if p.is_file())
    assert total < 10_000_000


def test_importing_datasets_does_not_load_tensorflow_or_opencv():
    code = (
        "import sys, mmkeras as mk; mk.datasets.load_av_digits(); "
        "print(sorted(m for m in ('tensorflow', 'keras', 'cv2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_generation_script_documents_itself():
    out = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "make_av_digits.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for option in ("--check", "--check-only", "--seed", "--out"):
        assert option in out.stdout


def test_clues_that_name_a_digit_agree_with_the_label(rows):
    words = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    named = 0
    for split_rows in rows.values():
        for row in split_rows:
            text = row["text"]
            if text in words:
                assert words.index(text) == int(row["label"]), row
                named += 1
            elif text.startswith("the digit "):
                assert text == f"the digit {row['label']}", row
                named += 1
    # Some clues pin the digit, many do not.
    assert 0.1 * len(rows["train"]) < named < 0.6 * sum(SPLIT_SIZES.values())
