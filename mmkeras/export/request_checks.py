"""In-graph checks of a raw serving request, so a bad request fails with a clear message."""

import tensorflow as tf

from mmkeras.export import header_ops

_SUMMARIZE = 16

_CONTENT = {"image": "encoded image file", "audio": "WAV file", "text": "text"}
# Inputs that take a matrix (batch, columns): what each element holds.
_MATRICES = {
    "tabular": ("float32", "feature values"),
    "categorical": ("string", "category strings (one per column)"),
}


def _as_text(value):
    if isinstance(value, tf.Tensor) and value.dtype not in (tf.string, tf.int32):
        if value.dtype.is_floating:
            return tf.strings.as_string(value, shortest=True)
        return tf.strings.as_string(value)
    return value


def _assert(condition, data):
    # With only string and int32 data, `Assert` is one op instead of a `cond` around one.
    data = [_as_text(value) for value in data]
    return tf.debugging.Assert(condition, data, summarize=_SUMMARIZE)


def _bad_indices(ok):
    return tf.reshape(tf.where(tf.logical_not(ok)), [-1])


def _runtime_shape(x):
    # A signature does not check the shapes it is called with, and both `tf.rank` (at tracing)
    # and grappler (the `Rank` op) give the rank the signature declares: count the dimensions.
    shape = tf.shape(x, out_type=tf.int64)
    rank = tf.reduce_sum(tf.cast(shape >= 0, tf.int32))
    return shape, rank


def _check_shapes(raw, pipeline):
    """One assertion per input: strings `(B,)`, tabular and categorical `(B, columns)`; runs
    before anything else."""
    checks = []
    for name in pipeline.input_names:
        shape, rank = _runtime_shape(raw[name])
        modality = pipeline.modality(name)
        if modality in _MATRICES:
            width = len(pipeline.schema[name])
            second = tf.concat([shape, tf.constant([-1, -1], tf.int64)], axis=0)[1]
            ok = tf.logical_and(tf.equal(rank, 2), tf.equal(second, width))
            dtype, content = _MATRICES[modality]
            message = (
                f"Bad request: {modality} input `{name}` must be a {dtype} matrix (batch, "
                f"{width}): {width} {content} in every element; received shape"
            )
        else:
            ok = tf.equal(rank, 1)
            message = (
                f"Bad request: {modality} input `{name}` must be a 1-D string tensor (batch,), "
                f"one {_CONTENT[modality]} per element; received shape"
            )
        checks.append(_assert(ok, [message, shape]))
    return checks


def _select(values, bad):
    return tf.boolean_mask(values, bad)


def _image_checks(name, x, spec, absent):
    sizes = header_ops.image_sizes(x)
    present = tf.logical_not(absent)
    known = tf.not_equal(sizes["format"], header_ops.UNKNOWN)
    sized = known & sizes["found"]
    width, height = sizes["width"], sizes["height"]
    # Each dimension fits in 31 bits for any real image; clipping keeps the product in int64.
    pixels = tf.minimum(width, 2**31) * tf.minimum(height, 2**31)
    too_large = present & sized & (pixels > spec.max_pixels)
    return [
        _assert(
            tf.reduce_all(known | absent),
            [
                f"Bad request: image input `{name}` is not JPEG, PNG, GIF or BMP file bytes in "
                "elements",
                _bad_indices(known | absent),
            ],
        ),
        _assert(
            tf.reduce_all(~(present & known & ~sized)),
            [
                f"Bad request: image input `{name}` has a damaged or truncated header (no width "
                "and height could be read, or one of them is 0) in elements",
                _bad_indices(~(present & known & ~sized)),
            ],
        ),
        _assert(
            tf.reduce_all(~too_large),
            [
                f"Bad request: image input `{name}` is larger than the limit of "
                f"{spec.max_pixels} pixels (max_pixels) in elements",
                _bad_indices(~too_large),
                "; found width",
                _select(width, too_large),
                "height",
                _select(height, too_large),
                "in the file header; such an image is refused before it is decoded.",
            ],
        ),
    ]


def _audio_checks(name, x, spec, absent):
    present = tf.logical_not(absent)
    riff = _is_wav(x)
    head = header_ops.wav_headers(x)
    pcm16 = tf.equal(head["audio_format"], 1) & tf.equal(head["bits"], 16)
    no_fmt = present & riff & ~head["fmt_ok"]
    not_pcm16 = present & riff & head["fmt_ok"] & ~pcm16
    inconsistent = present & riff & head["fmt_ok"] & pcm16 & ~head["consistent"]
    walked = present & riff & head["fmt_ok"] & pcm16 & head["consistent"]
    too_long = tf.zeros_like(walked)
    if spec.max_duration is not None:
        too_long = walked & head["data_found"] & (head["duration"] > spec.max_duration)
    truncated = walked & head["truncated"] & ~too_long
    damaged = walked & head["damaged"] & ~truncated & ~too_long
    empty = (
        walked
        & head["data_found"]
        & ~head["truncated"]
        & ~head["damaged"]
        & tf.equal(head["frames"], 0)
    )
    prefix = f"Bad request: audio input `{name}`"
    checks = [
        _assert(
            tf.reduce_all(riff | absent),
            [
                f"{prefix} is not RIFF/WAVE (.wav) file bytes in elements",
                _bad_indices(riff | absent),
            ],
        ),
        _assert(
            tf.reduce_all(~no_fmt),
            [
                f"{prefix} has no `fmt ` chunk of 16 or 18 bytes right after the RIFF header in "
                "elements",
                _bad_indices(~no_fmt),
                "; only plain 16-bit PCM WAV files are read.",
            ],
        ),
        _assert(
            tf.reduce_all(~not_pcm16),
            [
                f"{prefix} is not 16-bit PCM in elements",
                _bad_indices(~not_pcm16),
                "; found format code",
                _select(head["audio_format"], not_pcm16),
                "bits per sample",
                _select(head["bits"], not_pcm16),
                "; only 16-bit PCM (format code 1) is read, as in training: convert the file.",
            ],
        ),
        _assert(
            tf.reduce_all(~inconsistent),
            [
                f"{prefix} has a WAV header whose channels, sample rate, block align and byte "
                "rate disagree in elements",
                _bad_indices(~inconsistent),
            ],
        ),
        _assert(
            tf.reduce_all(~truncated),
            [
                f"{prefix} is a truncated WAV file (its data chunk or a chunk header runs past "
                "the end of the bytes) in elements",
                _bad_indices(~truncated),
            ],
        ),
        _assert(
            tf.reduce_all(~damaged),
            [
                f"{prefix} is a damaged WAV file (no data chunk, two data chunks, a chunk size "
                f"over 2**31 - 1 or more than {header_ops.MAX_WAV_CHUNKS} chunks) in elements",
                _bad_indices(~damaged),
            ],
        ),
        _assert(
            tf.reduce_all(~empty),
            [f"{prefix} has no samples (an empty data chunk) in elements", _bad_indices(~empty)],
        ),
    ]
    if spec.max_duration is not None:
        checks.append(
            _assert(
                tf.reduce_all(~too_long),
                [
                    f"{prefix} is longer than the limit of {spec.max_duration:g} s "
                    "(max_duration) in elements",
                    _bad_indices(~too_long),
                    "; found durations (s)",
                    _select(head["duration"], too_long),
                    "from the WAV header; such audio is refused before it is decoded.",
                ],
            )
        )
    return checks


def _text_checks(name, x, absent):
    # Transcoding valid UTF-8 to UTF-8 gives the same bytes; an invalid sequence is replaced.
    same = tf.equal(
        tf.strings.unicode_transcode(
            x, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
        ),
        x,
    )
    ok = same | absent
    return [
        _assert(
            tf.reduce_all(ok),
            [
                f"Bad request: text input `{name}` is not valid UTF-8 in elements",
                _bad_indices(ok),
                "; send the text encoded as UTF-8.",
            ],
        )
    ]


def _tabular_check(name, x, spec):
    if spec.impute:
        # A missing value (NaN) is imputed; only infinities are refused.
        ok = tf.logical_not(tf.reduce_any(tf.math.is_inf(x), axis=1))
        detail = "(NaN marks a missing value; infinities are refused)."
        found = "infinite"
    else:
        absent = tf.reduce_all(tf.math.is_nan(x), axis=1)
        ok = tf.logical_or(tf.reduce_all(tf.math.is_finite(x), axis=1), absent)
        detail = "(an absent row is all NaN)."
        found = "NaN or infinite"
    return _assert(
        tf.reduce_all(ok),
        [
            f"Bad request: tabular input `{name}` has {found} values in elements",
            _bad_indices(ok),
            detail,
        ],
    )


def _is_wav(data):
    head = header_ops.read_bytes(data, 0, 12)
    riff = tf.constant(list(b"RIFF"), tf.int64)
    wave = tf.constant(list(b"WAVE"), tf.int64)
    return tf.logical_and(
        tf.reduce_all(tf.equal(head[:, :4], riff), axis=1),
        tf.reduce_all(tf.equal(head[:, 8:12], wave), axis=1),
    )


def check_raw_request(raw, pipeline):
    """Builds assertions on a raw request; run them before `pipeline.preprocess`.

    Checked, each failing with a message that names the input (and the batch elements):

    - every string input is 1-D `(batch,)`, every tabular and categorical input
      `(batch, columns)` (a signature does not check the shapes it is called with);
    - the batch is not empty, and every input has the same batch size;
    - image bytes start like a JPEG, PNG, GIF or BMP file whose header gives a size within the
      spec's `max_pixels`, read from the header (JPEG SOFn, PNG IHDR, GIF screen, BMP header)
      before anything is decoded;
    - audio bytes are a 16-bit PCM RIFF/WAVE file that TensorFlow's reader reads (`fmt ` chunk
      first, consistent header, one complete `data` chunk, no cut-off chunk header) with at
      least one sample and no longer than the spec's `max_duration`, from the header;
    - texts are valid UTF-8;
    - an input is absent (empty string; all-NaN row for tabular, all-empty row for categorical)
      only when the pipeline allows missing modalities or the spec takes empty values as data
      (`TabularSpec(impute=True)`, `CategoricalSpec`; an empty text of
      `TextSpec(allow_empty=True)` is text, never absent), and with missing modalities at
      least one input of each element is present;
    - tabular values are finite (NaN only for a whole absent row, or anywhere with
      `impute=True`).

    Bytes with a valid header but damaged content still fail inside the decoder, with
    TensorFlow's message (for example "Invalid JPEG data").

    Args:
        raw: dict `{input name: tensor}` as `pipeline.raw_input_specs()` describes.
        pipeline: the `mmkeras.data.Pipeline` whose `preprocess` follows.

    Returns:
        List of assertion ops (empty when executing eagerly, where they raise at once).
    """
    names = pipeline.input_names
    checks = _check_shapes(raw, pipeline)
    # Each stage runs only after the one before passed, so a request with a wrong shape is
    # reported as such and not as a failing op in a later check.
    with tf.control_dependencies(checks):
        raw = {name: tf.identity(raw[name]) for name in names}
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
    # they run only after the batch sizes are known to agree.
    with tf.control_dependencies(checks):
        raw = {name: tf.identity(raw[name]) for name in names}
    present = []
    for name in names:
        x = raw[name]
        modality = pipeline.modality(name)
        spec = pipeline.specs[name]
        if modality == "tabular":
            checks.append(_tabular_check(name, x, spec))
            absent = tf.reduce_all(tf.math.is_nan(x), axis=1)
        elif modality == "categorical":
            absent = tf.reduce_all(tf.equal(tf.strings.strip(x), ""), axis=1)
        else:
            absent = tf.equal(tf.strings.length(x), 0)
            if modality == "image":
                checks.extend(_image_checks(name, x, spec, absent))
            elif modality == "audio":
                checks.extend(_audio_checks(name, x, spec, absent))
            else:
                checks.extend(_text_checks(name, x, absent))
                if spec.empty_is_valid:
                    absent = tf.zeros_like(absent)  # an empty text is text
        present.append(tf.logical_not(absent))
        if not pipeline.allow_missing and not spec.empty_is_valid:
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
