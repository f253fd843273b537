"""Cheap checks of image and WAV files from their headers, without decoding their contents.

Each check returns a small dict of what the header says, or raises `FileProblem` with a reason
code (the keys of `ValidationReport.counts`) and a human-readable detail.
"""

import os
import struct


class FileProblem(Exception):
    """A file that cannot be used; `reason` is a short code, `detail` says why."""

    def __init__(self, reason, detail):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(f, file_size):
    f.seek(2)
    while True:
        byte = f.read(1)
        while byte == b"\xff":
            byte = f.read(1)
            if byte != b"\xff":
                break
        else:
            if not byte:
                raise FileProblem("image_corrupt", "JPEG ends before its frame header")
            # A marker must start with 0xFF; anything else means the stream is damaged.
            raise FileProblem("image_corrupt", "JPEG segment does not start with a marker")
        if not byte:
            raise FileProblem("image_corrupt", "JPEG ends before its frame header")
        marker = byte[0]
        if marker in (0x01, *range(0xD0, 0xD8)):
            continue
        length_bytes = f.read(2)
        if len(length_bytes) < 2:
            raise FileProblem("image_corrupt", "JPEG ends inside a segment header")
        (length,) = struct.unpack(">H", length_bytes)
        if marker in _JPEG_SOF:
            data = f.read(5)
            if len(data) < 5:
                raise FileProblem("image_corrupt", "JPEG frame header is truncated")
            _, height, width = struct.unpack(">BHH", data)
            return width, height
        if marker == 0xD9 or f.tell() + length - 2 > file_size:
            raise FileProblem("image_corrupt", "JPEG ends before its frame header")
        f.seek(length - 2, os.SEEK_CUR)


def _tail(f, file_size, n):
    f.seek(max(0, file_size - n))
    return f.read(n)


def image_header(path):
    """Reads an image's format and size from its header.

    Recognises JPEG, PNG, GIF and BMP (the formats `tf.io.decode_image` decodes). A file whose
    end marker is missing (JPEG EOI, PNG IEND, GIF trailer) or that is shorter than its BMP
    header says is reported as truncated.

    Args:
        path: file path.

    Returns:
        dict with `format`, `width`, `height`, `size` (bytes).

    Raises:
        FileProblem: `image_corrupt` (unknown format, damaged or truncated header or data).
    """
    file_size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(32)
        if head[:3] == b"\xff\xd8\xff":
            width, height = _jpeg_size(f, file_size)
            if b"\xff\xd9" not in _tail(f, file_size, 1024):
                raise FileProblem("image_corrupt", "JPEG is truncated (no end-of-image marker)")
            fmt = "jpeg"
        elif head[:8] == b"\x89PNG\r\n\x1a\n":
            if len(head) < 24 or head[12:16] != b"IHDR":
                raise FileProblem("image_corrupt", "PNG has no IHDR header")
            width, height = struct.unpack(">II", head[16:24])
            if b"IEND" not in _tail(f, file_size, 12):
                raise FileProblem("image_corrupt", "PNG is truncated (no IEND chunk)")
            fmt = "png"
        elif head[:6] in (b"GIF87a", b"GIF89a"):
            if len(head) < 10:
                raise FileProblem("image_corrupt", "GIF header is truncated")
            width, height = struct.unpack("<HH", head[6:10])
            if _tail(f, file_size, 1) != b"\x3b":
                raise FileProblem("image_corrupt", "GIF is truncated (no trailer byte)")
            fmt = "gif"
        elif head[:2] == b"BM":
            if len(head) < 26:
                raise FileProblem("image_corrupt", "BMP header is truncated")
            (declared,) = struct.unpack("<I", head[2:6])
            width, height = struct.unpack("<ii", head[18:26])
            height = abs(height)
            if declared > file_size:
                raise FileProblem(
                    "image_corrupt", f"BMP is truncated ({file_size} of {declared} bytes)"
                )
            fmt = "bmp"
        else:
            raise FileProblem("image_corrupt", "not a JPEG, PNG, GIF or BMP file")
    if width <= 0 or height <= 0:
        raise FileProblem("image_corrupt", f"header gives an empty image ({width}x{height})")
    return {"format": fmt, "width": width, "height": height, "size": file_size}


def wav_header(path):
    """Reads a WAV file's format and length from its RIFF chunks.

    Args:
        path: file path.

    Returns:
        dict with `channels`, `sample_rate`, `bits`, `frames`, `duration` (seconds), `size`.

    Raises:
        FileProblem: `audio_corrupt` (not a RIFF/WAVE file, no fmt or data chunk),
            `audio_not_pcm16` (a format `tf.audio.decode_wav` cannot read: only 16-bit PCM),
            `audio_truncated` (the data chunk is shorter than its header says).
    """
    file_size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise FileProblem("audio_corrupt", "not a RIFF/WAVE file")
        fmt = None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                if fmt is None:
                    raise FileProblem("audio_corrupt", "WAV has no fmt chunk")
                raise FileProblem("audio_truncated", "WAV has no data chunk")
            chunk_id, chunk_size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if chunk_id == b"fmt ":
                body = f.read(chunk_size)
                if len(body) < 16:
                    raise FileProblem("audio_corrupt", "WAV fmt chunk is truncated")
                audio_format, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
                fmt = (audio_format, channels, rate, bits)
                if chunk_size % 2:
                    f.seek(1, os.SEEK_CUR)
            elif chunk_id == b"data":
                if fmt is None:
                    raise FileProblem("audio_corrupt", "WAV data chunk comes before fmt chunk")
                audio_format, channels, rate, bits = fmt
                if audio_format != 1 or bits != 16:
                    name = {1: "PCM", 3: "IEEE float", 6: "A-law", 7: "mu-law"}.get(
                        audio_format, f"format {audio_format}"
                    )
                    raise FileProblem(
                        "audio_not_pcm16", f"WAV is {name} {bits}-bit; only 16-bit PCM is read"
                    )
                if channels < 1 or rate < 1:
                    raise FileProblem("audio_corrupt", f"WAV has {channels} channels at {rate} Hz")
                available = file_size - f.tell()
                if available < chunk_size:
                    raise FileProblem(
                        "audio_truncated",
                        f"WAV data is truncated ({available} of {chunk_size} bytes)",
                    )
                frames = chunk_size // (channels * 2)
                return {
                    "channels": channels,
                    "sample_rate": rate,
                    "bits": bits,
                    "frames": frames,
                    "duration": frames / rate,
                    "size": file_size,
                }
            else:
                f.seek(chunk_size + (chunk_size % 2), os.SEEK_CUR)


def recheck(path, size):
    """Why a file that validation accepted (`size` bytes then) cannot be used now.

    Args:
        path: file path.
        size: int, the file's size when it was validated.

    Returns:
        `(reason, detail)`: `file_missing` (removed), `file_unreadable` (cannot be opened or
        read) or `file_changed` (another size); None when the file still looks as validated.
    """
    try:
        now = os.path.getsize(path)
        with open(path, "rb") as f:
            f.read(1)
    except FileNotFoundError:
        return "file_missing", "the file was removed after validation"
    except OSError as e:
        return "file_unreadable", f"{e.strerror or e} (after validation)"
    if now != size:
        return "file_changed", f"file size is now {now} bytes, not the {size} validation read"
    return None
