"""Bad requests fail with a message that says what is wrong; the server keeps serving."""

import numpy as np
import pytest

from tests.export.conftest import raw_batch


def _error(exported, **raw):
    import tensorflow as tf

    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        exported.serve(**raw)
    return info.value.message


def test_undecodable_image_bytes_name_the_input_and_element(exported):
    raw = raw_batch(exported.root, exported.rows[:3])
    raw["image"][1] = b"not an image at all"
    message = _error(exported, **raw)
    assert "image input `image`" in message and "JPEG, PNG, GIF or BMP" in message
    assert "elements] [1]" in message


def test_damaged_image_with_a_valid_header_fails_in_the_decoder(exported):
    raw = raw_batch(exported.root, exported.rows[:1])  # row 0 is a JPEG
    raw["image"][0] = raw["image"][0][:60]
    message = _error(exported, **raw)
    assert "JPEG" in message


def test_non_wav_audio_is_rejected(exported):
    raw = raw_batch(exported.root, exported.rows[:2])
    raw["audio"][0] = b"ID3 an mp3 file"
    assert "audio input `audio`" in _error(exported, **raw)


def test_empty_batch_is_rejected(exported):
    raw = {k: v[:0] for k, v in raw_batch(exported.root, exported.rows).items()}
    assert "the batch is empty" in _error(exported, **raw)


def test_inputs_with_different_batch_sizes_are_rejected(exported):
    raw = raw_batch(exported.root, exported.rows[:3])
    raw["text"] = raw["text"][:2]
    assert "input `text` has a batch of] [2]" in _error(exported, **raw)


def test_a_request_with_every_input_empty_is_rejected(exported):
    raw = {k: np.array(["", ""], dtype=object) for k in ("image", "text", "audio")}
    assert "every input is empty in elements] [0 1]" in _error(exported, **raw)


def test_wrong_dtype_is_refused_before_running(exported):
    import tensorflow as tf

    raw = raw_batch(exported.root, exported.rows[:1])
    fn = exported.loaded.signatures["serving_default"]
    with pytest.raises((tf.errors.InvalidArgumentError, TypeError, ValueError)) as info:
        fn(image=tf.constant([1.0]), text=tf.constant(raw["text"]), audio=tf.constant(raw["audio"]))
    assert "string" in str(info.value)


def test_server_still_serves_after_bad_requests(exported):
    raw = raw_batch(exported.root, exported.rows[:2])
    bad = {**raw, "image": np.array([b"xx", b"yy"], dtype=object)}
    _error(exported, **bad)
    out = exported.serve(**raw)
    assert out["probabilities"].shape == (2, 3)
    np.testing.assert_allclose(out["probabilities"].numpy().sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_required_inputs_without_allow_missing(exported, tmp_path):
    import tensorflow as tf

    import mmkeras as mk
    from tests.export.conftest import build_pipeline

    pipe = build_pipeline(exported.manifest, allow_missing=False)
    path = mk.export.saved_model(exported.model, pipe, tmp_path / "strict")
    fn = tf.saved_model.load(path).signatures["serving_default"]
    raw = raw_batch(exported.root, exported.rows[:2])
    raw["text"][1] = ""
    with pytest.raises(tf.errors.InvalidArgumentError, match="input `text` is empty"):
        fn(**{k: tf.constant(v) for k, v in raw.items()})
    assert "present" not in fn.structured_input_signature[1]
