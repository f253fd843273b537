"""Bad requests fail with a message that says what is wrong; the server keeps serving."""

import numpy as np
import pytest

from tests.export.conftest import limited_request, raw_batch, wav_bytes


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
    raw["image"][0] = raw["image"][0][: len(raw["image"][0]) // 2]  # frame header kept
    message = _error(exported, **raw)
    assert "JPEG" in message


def test_image_cut_before_its_size_names_the_input_and_element(exported):
    raw = raw_batch(exported.root, exported.rows[:2])  # row 0 is a JPEG
    raw["image"][0] = raw["image"][0][:60]  # before the SOF frame header
    message = _error(exported, **raw)
    assert "image input `image` has a damaged or truncated header" in message
    assert "elements] [0]" in message


def test_truncated_wav_names_the_input_and_element(exported):
    raw = raw_batch(exported.root, exported.rows[:3])
    raw["audio"][1] = raw["audio"][1][:100]
    message = _error(exported, **raw)
    assert "audio input `audio` is a truncated WAV file" in message
    assert "elements] [1]" in message
    assert "Data too short" not in message


@pytest.mark.parametrize("sample_width", [1, 3, 4])
def test_wav_that_is_not_16_bit_pcm_is_refused_clearly(exported, sample_width):
    # The pipeline reads 16-bit PCM only (validation reports `audio_not_pcm16`): serving agrees.
    raw = raw_batch(exported.root, exported.rows[:2])
    raw["audio"][1] = wav_bytes(800, sample_width=sample_width)
    message = _error(exported, **raw)
    assert "audio input `audio` is not 16-bit PCM in elements] [1]" in message
    assert f"bits per sample] [{8 * sample_width}]" in message


def test_wav_whose_first_chunk_is_not_fmt_is_refused_clearly(exported):
    wav = wav_bytes(100)
    raw = raw_batch(exported.root, exported.rows[:1])
    raw["audio"][0] = wav[:12] + b"JUNK\x04\x00\x00\x00abcd" + wav[12:]
    message = _error(exported, **raw)
    assert "audio input `audio` has no `fmt ` chunk" in message and "elements] [0]" in message


def test_wav_without_samples_is_refused(exported):
    raw = raw_batch(exported.root, exported.rows[:2])
    raw["audio"][0] = wav_bytes(0)
    assert "audio input `audio` has no samples" in _error(exported, **raw)


def test_text_that_is_not_utf8_is_refused(exported):
    raw = raw_batch(exported.root, exported.rows[:3])
    raw["text"][2] = "caf\u00e9".encode("latin-1")
    message = _error(exported, **raw)
    assert "text input `text` is not valid UTF-8 in elements] [2]" in message


def test_utf8_text_with_any_characters_is_served(exported):
    raw = raw_batch(exported.root, exported.rows[:3])
    raw["text"] = np.array(
        ["caf\u00e9 \u4e2d\u6587 \U0001f431", "\ufeffbom and \ufffd", "nul\x00byte"], dtype=object
    )
    assert exported.serve(**raw)["probabilities"].shape == (3, 3)


@pytest.mark.parametrize(
    "name, reshape",
    [
        ("image", lambda v: v.reshape(-1, 1)),
        ("image", lambda v: v[0]),
        ("text", lambda v: v.reshape(1, -1)),
        ("audio", lambda v: v.reshape(-1, 1, 1)),
    ],
    ids=["image_2d", "image_scalar", "text_2d", "audio_3d"],
)
def test_string_input_of_the_wrong_rank_names_the_input(exported, name, reshape):
    # A SavedModel signature does not check the shapes it is called with: the graph does.
    raw = raw_batch(exported.root, exported.rows[:2])
    raw[name] = reshape(raw[name])
    message = _error(exported, **raw)
    assert f"input `{name}` must be a 1-D string tensor (batch,)" in message
    assert f"received shape] [{' '.join(str(d) for d in np.shape(raw[name]))}]" in message


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


@pytest.mark.parametrize(
    "tab, shape",
    [
        (np.zeros((1, 4), np.float32), "1 4"),
        (np.zeros((1, 2), np.float32), "1 2"),
        (np.zeros((3,), np.float32), "3"),
        (np.zeros((1, 3, 1), np.float32), "1 3 1"),
    ],
    ids=["too_wide", "too_narrow", "1d", "3d"],
)
def test_tabular_input_of_the_wrong_width_or_rank_names_the_input(limited, tab, shape):
    import tensorflow as tf

    raw = limited_request(limited, tab=tab)
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        limited.serve(**raw)
    message = info.value.message
    assert "tabular input `tab` must be a float32 matrix (batch, 3)" in message
    assert f"received shape] [{shape}]" in message
