"""Reading image sizes and WAV headers from raw bytes with TensorFlow ops, without decoding.

A serving request must be checked against the pipeline's limits (`ImageSpec.max_pixels`,
`AudioSpec.max_duration`) before the decoder allocates the image or the waveform: a PNG of a few
kilobytes can say 20000x20000 pixels. These functions read the few header bytes that give the
size, for a whole batch of byte strings at once, and never fail on arbitrary bytes (reads past
the end give zeros and are flagged). They mirror what `mmkeras.data.file_checks` reads from
files, and what TensorFlow's own decoders accept.
"""

import tensorflow as tf

# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic): not DHT (C4),
# JPG (C8) or DAC (CC).
_JPEG_SOF = (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF)

# A JPEG walk stops after this many steps (markers, or bytes skipped between segments): real
# files reach their frame header in a handful; a file that does not is refused, not decoded.
MAX_JPEG_STEPS = 1024
# A WAV walk reads at most this many chunks after `fmt ` (real files have two to five).
MAX_WAV_CHUNKS = 64

# Format codes returned by `image_sizes`.
UNKNOWN, JPEG, PNG, GIF, BMP = 0, 1, 2, 3, 4


def read_bytes(data, pos, n):
    """Reads `n` bytes at `pos` of each string; bytes past the end read as 0.

    Args:
        data: tf.string `(B,)`.
        pos: int64 `(B,)` (or a Python int), positions; any value is safe.
        n: Python int, bytes to read.

    Returns:
        int64 `(B, n)`, the byte values.
    """
    length = tf.cast(tf.strings.length(data), tf.int64)
    pos = tf.broadcast_to(tf.cast(pos, tf.int64), tf.shape(length, out_type=tf.int64))
    pos = tf.cast(tf.clip_by_value(pos, 0, length), tf.int32)
    piece = tf.strings.substr(data, pos, tf.fill(tf.shape(pos), n))
    # `fixed_length` zero-pads a piece cut short by the end of the string.
    return tf.cast(tf.io.decode_raw(piece, tf.uint8, fixed_length=n), tf.int64)


def _big_endian(b, start, n):
    value = tf.zeros_like(b[:, 0])
    for i in range(n):
        value = value * 256 + b[:, start + i]
    return value


def _little_endian(b, start, n):
    value = tf.zeros_like(b[:, 0])
    for i in reversed(range(n)):
        value = value * 256 + b[:, start + i]
    return value


def _starts_with(b, magic):
    ok = tf.ones_like(b[:, 0], tf.bool)
    for i, byte in enumerate(magic):
        ok = tf.logical_and(ok, tf.equal(b[:, i], byte))
    return ok


def _jpeg_size(data, length, skip):
    """Walks JPEG markers from the SOI to the first SOFn, as libjpeg does; `skip`: not JPEG."""
    zeros = tf.zeros_like(length)
    false = tf.zeros_like(length, tf.bool)

    def body(step, pos, done, found, width, height):
        b = read_bytes(data, pos, 9)
        marker = b[:, 1]
        is_ff = tf.equal(b[:, 0], 0xFF)
        # Bytes between segments that are not a marker are skipped one at a time (libjpeg warns
        # about "extraneous bytes" and carries on); so are 0xFF fill bytes before a marker.
        skip_one = tf.logical_or(tf.logical_not(is_ff), tf.equal(marker, 0xFF))
        standalone = tf.logical_and(
            is_ff,
            tf.logical_or(tf.equal(marker, 0x01), (marker >= 0xD0) & (marker <= 0xD7)),
        )
        is_sof = tf.zeros_like(is_ff)
        for code in _JPEG_SOF:
            is_sof = tf.logical_or(is_sof, tf.equal(marker, code))
        is_sof = tf.logical_and(is_ff, is_sof)
        # End of image, start of scan or a second SOI before any frame header: no size.
        dead_end = is_ff & (
            tf.equal(marker, 0xD9) | tf.equal(marker, 0xDA) | tf.equal(marker, 0xD8)
        )
        segment = _big_endian(b, 2, 2)
        plain = ~skip_one & ~standalone & ~is_sof & ~dead_end
        next_pos = tf.where(skip_one, pos + 1, tf.where(standalone, pos + 2, pos + 2 + segment))
        sof_read = is_sof & ~skip_one & (pos + 9 <= length)
        active = tf.logical_not(done)
        new_found = active & sof_read
        stop = (
            (is_sof & ~skip_one)
            | dead_end
            | (plain & (segment < 2))
            | (next_pos >= length)
            | (pos + 2 > length)
        )
        return (
            step + 1,
            tf.where(active, next_pos, pos),
            done | (active & stop) | new_found,
            found | new_found,
            tf.where(new_found, _big_endian(b, 7, 2), width),
            tf.where(new_found, _big_endian(b, 5, 2), height),
        )

    def cond(step, pos, done, *_):
        return tf.logical_and(step < MAX_JPEG_STEPS, tf.logical_not(tf.reduce_all(done)))

    _, _, _, found, width, height = tf.while_loop(
        cond,
        body,
        (tf.constant(0), zeros + 2, skip, false, zeros, zeros),
        parallel_iterations=1,
    )
    return found, width, height


def image_sizes(data):
    """Format and size of each image, read from its header without decoding it.

    JPEG: the first SOFn frame header, found by walking the markers from the start (at most
    `MAX_JPEG_STEPS` steps). PNG: the IHDR chunk. GIF: the logical screen size. BMP: the
    BITMAPINFOHEADER width and height (a negative height, top-down rows, counts as its absolute
    value), as TensorFlow's BMP decoder reads them.

    Args:
        data: tf.string `(B,)`, encoded image bytes.

    Returns:
        dict of `(B,)` tensors: `format` (int64, `UNKNOWN`, `JPEG`, `PNG`, `GIF` or `BMP`),
        `found` (bool, the header holds a size), `width` and `height` (int64, 0 where not found).
    """
    length = tf.cast(tf.strings.length(data), tf.int64)
    head = read_bytes(data, 0, 26)
    is_jpeg = _starts_with(head, b"\xff\xd8\xff")
    is_png = _starts_with(head, b"\x89PNG")
    is_gif = _starts_with(head, b"GIF8")
    is_bmp = _starts_with(head, b"BM") & ~is_jpeg & ~is_png & ~is_gif
    fmt = tf.zeros_like(length)
    for code, is_fmt in ((JPEG, is_jpeg), (PNG, is_png), (GIF, is_gif), (BMP, is_bmp)):
        fmt = tf.where(is_fmt, tf.constant(code, tf.int64), fmt)

    png_found = (
        is_png
        & (length >= 24)
        & tf.reduce_all(tf.equal(head[:, 12:16], tf.constant(list(b"IHDR"), tf.int64)), axis=1)
    )
    gif_found = is_gif & (length >= 10)
    bmp_found = is_bmp & (length >= 26)
    bmp_width = _little_endian(head, 18, 4)
    bmp_height = _little_endian(head, 22, 4)
    # Signed 32-bit: a negative width is damaged, a negative height means top-down rows.
    bmp_width = tf.where(bmp_width >= 2**31, bmp_width - 2**32, bmp_width)
    bmp_height = tf.abs(tf.where(bmp_height >= 2**31, bmp_height - 2**32, bmp_height))

    # Only JPEG elements walk; the others start out done.
    jpeg_found, jpeg_width, jpeg_height = _jpeg_size(data, length, tf.logical_not(is_jpeg))

    found = png_found | gif_found | bmp_found | (is_jpeg & jpeg_found)
    width = tf.zeros_like(length)
    height = tf.zeros_like(length)
    for is_fmt, w, h in (
        (is_jpeg, jpeg_width, jpeg_height),
        (png_found, _big_endian(head, 16, 4), _big_endian(head, 20, 4)),
        (gif_found, _little_endian(head, 6, 2), _little_endian(head, 8, 2)),
        (bmp_found, bmp_width, bmp_height),
    ):
        width = tf.where(is_fmt, w, width)
        height = tf.where(is_fmt, h, height)
    found = found & (width > 0) & (height > 0)
    return {"format": fmt, "found": found, "width": width, "height": height}


def wav_headers(data):
    """What each WAV file's header says, read as TensorFlow's WAV decoder reads it.

    `tf.audio.decode_wav` wants the `fmt ` chunk (16 or 18 bytes) right after the RIFF header,
    PCM (format 1), 16 bits, a block align and byte rate that agree with the channels and rate,
    then any chunks with exactly one `data` chunk, and every chunk header complete up to the end
    of the file. The chunks after `fmt ` are walked (at most `MAX_WAV_CHUNKS`) the way the
    decoder walks them, so a file these checks pass is one the decoder reads.

    Args:
        data: tf.string `(B,)`, bytes that start with `RIFF....WAVE`.

    Returns:
        dict of `(B,)` tensors:
        `fmt_ok` (bool: a `fmt ` chunk of 16 or 18 bytes comes first), `audio_format`,
        `bits`, `channels`, `sample_rate` (int64, read from that chunk), `consistent` (bool:
        channels and rate >= 1, block align = channels * 2, byte rate = block align * rate),
        `data_found` (bool: the walk found one `data` chunk), `frames` (int64, frames the data
        chunk's header declares), `duration` (float64 seconds, `frames / sample_rate`),
        `truncated` (bool: the data chunk, or a chunk header, runs past the end of the bytes),
        `damaged` (bool: no data chunk, two data chunks, a chunk size over 2**31 - 1, or more
        than `MAX_WAV_CHUNKS` chunks).
    """
    length = tf.cast(tf.strings.length(data), tf.int64)
    head = read_bytes(data, 0, 36)
    fmt_size = _little_endian(head, 16, 4)
    fmt_ok = _starts_with(head[:, 12:], b"fmt ") & (tf.equal(fmt_size, 16) | tf.equal(fmt_size, 18))
    fmt_ok = fmt_ok & (length >= 36)
    audio_format = _little_endian(head, 20, 2)
    channels = _little_endian(head, 22, 2)
    rate = _little_endian(head, 24, 4)
    byte_rate = _little_endian(head, 28, 4)
    block_align = _little_endian(head, 32, 2)
    bits = _little_endian(head, 34, 2)
    pcm16 = tf.equal(audio_format, 1) & tf.equal(bits, 16)
    consistent = (
        (channels >= 1)
        & (rate >= 1)
        & tf.equal(block_align, channels * 2)
        & tf.equal(byte_rate, block_align * rate)
    )
    walk = fmt_ok & pcm16 & consistent
    align = tf.maximum(block_align, 1)
    zeros = tf.zeros_like(length)
    false = tf.zeros_like(length, tf.bool)
    data_id = tf.constant(list(b"data"), tf.int64)

    def body(step, pos, done, data_count, frames, truncated, damaged):
        active = tf.logical_not(done)
        at_end = pos >= length
        chunk = read_bytes(data, pos, 8)
        header_cut = ~at_end & (pos + 8 > length)
        size = _little_endian(chunk, 4, 4)
        is_data = tf.reduce_all(tf.equal(chunk[:, :4], data_id), axis=1)
        chunk_frames = size // align
        data_end = pos + 8 + chunk_frames * align
        data_cut = is_data & (data_end > length)
        too_big = size > 2**31 - 1
        read = active & ~at_end & ~header_cut & ~too_big
        new_data = read & is_data
        data_count = data_count + tf.cast(new_data, tf.int64)
        frames = tf.where(new_data & tf.equal(data_count, 1), chunk_frames, frames)
        truncated = truncated | (active & header_cut) | (new_data & data_cut)
        damaged = damaged | (active & ~header_cut & too_big) | (data_count > 1)
        stop = at_end | header_cut | too_big | data_cut | (data_count > 1)
        # The decoder reads whole frames of the data chunk and goes on right after them.
        next_pos = tf.where(is_data, data_end, pos + 8 + size)
        return (
            step + 1,
            tf.where(read, next_pos, pos),
            done | (active & stop),
            data_count,
            frames,
            truncated,
            damaged,
        )

    def cond(step, pos, done, *_):
        return tf.logical_and(step < MAX_WAV_CHUNKS, tf.logical_not(tf.reduce_all(done)))

    _, pos, done, data_count, frames, truncated, damaged = tf.while_loop(
        cond,
        body,
        (tf.constant(0), 20 + fmt_size, tf.logical_not(walk), zeros, zeros, false, false),
        parallel_iterations=1,
    )
    unfinished = walk & tf.logical_not(done)
    damaged = walk & (damaged | unfinished | (~truncated & tf.equal(data_count, 0)))
    truncated = walk & truncated
    data_found = walk & tf.greater_equal(data_count, 1)
    duration = tf.cast(frames, tf.float64) / tf.cast(tf.maximum(rate, 1), tf.float64)
    return {
        "fmt_ok": fmt_ok,
        "audio_format": audio_format,
        "bits": bits,
        "channels": channels,
        "sample_rate": rate,
        "consistent": consistent,
        "data_found": data_found,
        "frames": frames,
        "duration": duration,
        "truncated": truncated,
        "damaged": damaged,
    }
