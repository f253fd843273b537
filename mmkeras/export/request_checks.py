"""In-graph checks of a raw serving request, so a bad request fails with a clear message."""

import tensorflow as tf

# Leading bytes of the formats `tf.io.decode_image` reads.
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM")


_SUMMARIZE = 16


def _assert(condition, data):
    return tf.debugging.Assert(condition, data, summarize=_SUMMARIZE)


def _bad_indices(ok):
    return tf.reshape(tf.where(tf.logical_not(ok)), [-1])


def _is_image(data):
    ok = tf.zeros(tf.shape(data), tf.bool)
    for magic in _IMAGE_MAGIC:
        ok = tf.logical_or(ok, tf.equal(tf.strings.substr(data, 0, len(magic)), magic))
    return ok


def _is_wav(data):
    return tf.logical_and(
        tf.equal(tf.strings.substr(data, 0, 4), b"RIFF"),
        tf.equal(tf.strings.substr(data, 8, 4), b"WAVE"),
    )


def _substr_safe(data):
    # `substr` fails on positions past the end: pad the bytes we look at.
    return tf.strings.join([data, tf.constant("\0" * 12)])


def check_raw_request(raw, pipeline):
    """Builds assertions on a raw request; run them before `pipeline.preprocess`.

    Checked, each failing with a message that names the input and the batch elements:

    - the batch is not empty;
    - every input has the same batch size;
    - image bytes start like a JPEG, PNG, GIF or BMP file, audio bytes like a RIFF/WAVE file;
    - an input is absent (empty string; all-NaN row for tabular) only when the pipeline allows
      missing modalities, and then at least one input of each element is present;
    - tabular values are finite (NaN only for a whole absent row).

    Bytes with a valid header but damaged content still fail inside the decoder, with
    TensorFlow's message (for example "Invalid JPEG data").

    Args:
        raw: dict `{input name: tensor}` as `pipeline.raw_input_specs()` describes.
        pipeline: the `mmkeras.data.Pipeline` whose `preprocess` follows.

    Returns:
        List of assertion ops (empty when executing eagerly, where they raise at once).
    """
    names = pipeline.input_names
    checks = []
    batch = tf.shape(raw[names[0]])[0]
    checks.append(
        _assert(batch > 0, ["Bad request: the batch is empty; send at least one element."])
    )
    for name in names:
        size = tf.shape(raw[name])[0]
        checks.append(
            _assert(
                tf.equal(size, batch),
                [
                    f"Bad request: input `{name}` has a batch of",
                    size,
                    f"elements but `{names[0]}` has",
                    batch,
                    "; every input needs one entry per element.",
                ],
            )
        )
    # The checks below combine inputs element by element (e.g. stacking the presence of each):
    # they run only after the batch sizes are known to agree, so a mismatch is reported as
    # such and not as a shape error deep inside an op.
    with tf.control_dependencies(checks):
        raw = {name: tf.identity(raw[name]) for name in names}
    present = []
    for name in names:
        x = raw[name]
        modality = pipeline.modality(name)
        if modality == "tabular":
            nan = tf.math.is_nan(x)
            absent = tf.reduce_all(nan, axis=1)
            finite = tf.logical_or(tf.reduce_all(tf.math.is_finite(x), axis=1), absent)
            checks.append(
                _assert(
                    tf.reduce_all(finite),
                    [
                        f"Bad request: tabular input `{name}` has NaN or infinite values in "
                        "elements",
                        _bad_indices(finite),
                        "(an absent row is all NaN).",
                    ],
                )
            )
        else:
            absent = tf.equal(tf.strings.length(x), 0)
            if modality in ("image", "audio"):
                padded = _substr_safe(x)
                header_ok = _is_image(padded) if modality == "image" else _is_wav(padded)
                ok = tf.logical_or(header_ok, absent)
                allowed = "JPEG, PNG, GIF or BMP" if modality == "image" else "RIFF/WAVE (.wav)"
                checks.append(
                    _assert(
                        tf.reduce_all(ok),
                        [
                            f"Bad request: {modality} input `{name}` is not {allowed} file "
                            "bytes in elements",
                            _bad_indices(ok),
                        ],
                    )
                )
        present.append(tf.logical_not(absent))
        if not pipeline.allow_missing:
            checks.append(
                _assert(
                    tf.reduce_all(tf.logical_not(absent)),
                    [
                        f"Bad request: input `{name}` is empty in elements",
                        _bad_indices(tf.logical_not(absent)),
                        "; this model was exported without missing-modality support, so every "
                        "input is required.",
                    ],
                )
            )
    if pipeline.allow_missing:
        any_present = tf.reduce_any(tf.stack(present, axis=1), axis=1)
        checks.append(
            _assert(
                tf.reduce_all(any_present),
                [
                    "Bad request: every input is empty in elements",
                    _bad_indices(any_present),
                    "; at least one input per element is needed.",
                ],
            )
        )
    return [c for c in checks if c is not None]
