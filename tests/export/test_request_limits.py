"""Images over `max_pixels` and audio over `max_duration` are refused from their headers.

The limits are the pipeline's (`ImageSpec.max_pixels`, `AudioSpec.max_duration`), checked in the
SavedModel's graph on the header bytes before anything is decoded, and they agree with what
`Pipeline.validate` says of the same files.
"""

import json
import os
import resource
import struct

import numpy as np
import pytest

from tests.export.conftest import (
    FEATURES,
    MAX_DURATION,
    MAX_PIXELS,
    bmp_header,
    gif_header,
    huge_png,
    jpeg_header,
    limited_request,
    raw_batch,
    wav_bytes,
    write_image,
)


def _error(exported, signature="serving_default", **raw):
    import tensorflow as tf

    fn = exported.loaded.signatures[signature]
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        fn(**{k: tf.constant(v) for k, v in raw.items()})
    return info.value.message


def _peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def test_a_20000x20000_png_is_refused_before_decoding(exported):
    png = huge_png(20000, 20000)
    assert len(png) < 100_000  # a small request: the danger is in what it decodes to
    raw = raw_batch(exported.root, exported.rows[:3])
    raw["image"][2] = png
    exported.serve(**raw_batch(exported.root, exported.rows[:1]))  # warm up
    before = _peak_rss_bytes()
    message = _error(exported, **raw)
    # Decoding it would take 1.2 GB (uint8) and the resize 4.8 GB more (float32).
    assert _peak_rss_bytes() - before < 2**30
    assert (
        "image input `image` is larger than the limit of 40000000 pixels (max_pixels) in "
        "elements] [2]" in message
    )
    assert "found width] [20000] [height] [20000]" in message
    assert "refused before it is decoded" in message


@pytest.mark.parametrize(
    "make", [jpeg_header, gif_header, bmp_header], ids=["jpeg_sof", "gif_screen", "bmp_header"]
)
def test_huge_sizes_are_read_from_every_format_header(exported, make):
    raw = raw_batch(exported.root, exported.rows[:2])
    raw["image"][0] = make(30000, 2000)
    message = _error(exported, **raw)
    assert "image input `image` is larger than the limit" in message
    assert "elements] [0] [; found width] [30000] [height] [2000]" in message


def test_the_preprocess_signature_checks_the_limits_too(exported):
    raw = raw_batch(exported.root, exported.rows[:1])
    raw["image"][0] = huge_png(20000, 20000)
    assert "larger than the limit" in _error(exported, signature="preprocess", **raw)


def test_a_700_s_wav_is_refused(exported):
    # A real 700 s file: 8 samples per second keeps it small (11 KB).
    raw = raw_batch(exported.root, exported.rows[:2])
    raw["audio"][1] = wav_bytes(8 * 700, rate=8)
    message = _error(exported, **raw)
    assert (
        "audio input `audio` is longer than the limit of 600 s (max_duration) in elements] [1]"
        in (message)
    )
    assert "found durations (s)] [700]" in message


def test_a_wav_header_claiming_700_s_is_refused_for_its_length(exported):
    header = bytearray(wav_bytes(0))
    assert header[36:40] == b"data"
    header[40:44] = struct.pack("<I", 700 * 8000 * 2)  # 700 s at 8 kHz, 16-bit mono
    raw = raw_batch(exported.root, exported.rows[:1])
    raw["audio"][0] = bytes(header)
    assert "is longer than the limit of 600 s" in _error(exported, **raw)


def test_limits_come_from_the_specs_and_are_in_the_metadata(limited):
    with open(os.path.join(limited.path, "metadata.json")) as f:
        inputs = json.load(f)["signatures"]["serving_default"]["inputs"]
    assert inputs["image"]["max_pixels"] == MAX_PIXELS
    assert inputs["audio"]["max_duration"] == MAX_DURATION


def _serving_error(limited, **raw):
    import tensorflow as tf

    try:
        limited.serve(**raw)
    except tf.errors.InvalidArgumentError as e:
        return e.message
    return None


def _validation_problems(limited, **paths):
    row = {
        "image": os.path.join(limited.root, limited.rows[0]["image"]),
        "audio": os.path.join(limited.root, limited.rows[0]["audio"]),
        **{f: 0.0 for f in FEATURES},
        "label": limited.rows[0]["label"],
        **paths,
    }
    return [p.reason for p in limited.pipe.validate([row]).problems]


def test_serving_and_validation_agree_at_the_limits(limited, tmp_path):
    rng = np.random.default_rng(0)
    cases = {
        "image_at_limit": ("image", (40, 48), True),
        "image_over_limit": ("image", (41, 48), False),
        "audio_at_limit": ("audio", MAX_DURATION, True),
        "audio_over_limit": ("audio", MAX_DURATION + 1, False),
    }
    for case, (kind, size, allowed) in cases.items():
        if kind == "image":
            path = str(tmp_path / f"{case}.png")
            write_image(path, rng.integers(0, 255, (*size, 3), np.uint8))
        else:
            path = str(tmp_path / f"{case}.wav")
            with open(path, "wb") as f:
                f.write(wav_bytes(int(size * 8000)))
        with open(path, "rb") as f:
            data = f.read()
        error = _serving_error(limited, **limited_request(limited, **{kind: data}))
        problems = _validation_problems(limited, **{kind: path})
        if allowed:
            assert error is None, (case, error)
            assert problems == [], case
        else:
            reason = "image_too_large" if kind == "image" else "audio_too_long"
            limit = "max_pixels" if kind == "image" else "max_duration"
            assert error is not None and limit in error, (case, error)
            assert problems == [reason], case
