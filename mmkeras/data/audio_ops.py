"""Deterministic WAV decoding, resampling and cropping with TensorFlow ops."""

import tensorflow as tf


def resample_linear(wave, from_rate, to_rate):
    """Resamples a mono waveform `(N,)` from `from_rate` to `to_rate` by linear interpolation.

    Args:
        wave: float32 `(N,)`, N >= 1.
        from_rate: scalar int tensor, the file's sample rate.
        to_rate: int, the target sample rate.

    Returns:
        float32 `(round(N * to_rate / from_rate),)`.
    """
    n = tf.shape(wave)[0]
    ratio = tf.cast(from_rate, tf.float64) / float(to_rate)
    new_n = tf.maximum(tf.cast(tf.math.round(tf.cast(n, tf.float64) / ratio), tf.int32), 1)
    pos = tf.cast(tf.range(new_n), tf.float64) * ratio
    i0 = tf.minimum(tf.cast(tf.floor(pos), tf.int32), n - 1)
    i1 = tf.minimum(i0 + 1, n - 1)
    frac = tf.cast(pos - tf.cast(i0, tf.float64), tf.float32)
    return tf.gather(wave, i0) * (1.0 - frac) + tf.gather(wave, i1) * frac


def decode_audio(data, spec, crop_seed=None):
    """Decodes one WAV file to a mono waveform of the spec's rate and length.

    16-bit PCM WAV is decoded with `tf.audio.decode_wav`, channels are averaged, the rate is
    converted to `spec.sample_rate` when it differs, then the waveform is cropped to
    `spec.num_samples` (centred, or at a random offset drawn from `crop_seed`) or zero-padded at
    the end. An empty string (absent audio) gives zeros.

    Args:
        data: scalar tf.string, the WAV file's bytes.
        spec: an `AudioSpec`.
        crop_seed: None for a centred crop (evaluation, export), or an int64 `(2,)` stateless
            seed for a random crop (training).

    Returns:
        float32 `(spec.num_samples,)` in -1..1.
    """
    return crop_or_pad(decode_wave(data, spec), spec, crop_seed)


def decode_wave(data, spec):
    """Decodes one WAV file to a mono waveform at the spec's rate, of the file's length.

    Args:
        data: scalar tf.string, the WAV file's bytes; an empty string gives
            `spec.num_samples` zeros.
        spec: an `AudioSpec`.

    Returns:
        float32 `(N,)` in -1..1, N >= 1.
    """

    def _decode():
        wave, rate = tf.audio.decode_wav(data)
        mono = tf.reduce_mean(wave, axis=1)
        mono = tf.cond(tf.shape(mono)[0] > 0, lambda: mono, lambda: tf.zeros([1], tf.float32))
        return tf.cond(
            tf.equal(rate, spec.sample_rate),
            lambda: mono,
            lambda: resample_linear(mono, rate, spec.sample_rate),
        )

    return tf.cond(
        tf.strings.length(data) > 0, _decode, lambda: tf.zeros([spec.num_samples], tf.float32)
    )


def crop_or_pad(wave, spec, crop_seed=None):
    """Crops a waveform `(N,)` to `spec.num_samples` (centred, or at a random offset drawn
    from the int64 `(2,)` `crop_seed`) or zero-pads it at the end."""
    target = spec.num_samples
    excess = tf.maximum(tf.shape(wave)[0] - target, 0)
    if crop_seed is None:
        start = excess // 2
    else:
        start = tf.random.stateless_uniform([], crop_seed, 0, excess + 1, dtype=tf.int32)
    cropped = wave[start : start + target]
    return tf.ensure_shape(tf.pad(cropped, [[0, target - tf.shape(cropped)[0]]]), (target,))


def decode_audio_batch(data, spec, crop_seeds=None):
    """Applies `decode_audio` to `(B,)` WAV bytes -> `(B, S)`; `crop_seeds` is None or `(B, 2)`."""
    signature = tf.TensorSpec((spec.num_samples,), tf.float32)
    if crop_seeds is None:
        return tf.map_fn(lambda d: decode_audio(d, spec), data, fn_output_signature=signature)
    return tf.map_fn(
        lambda args: decode_audio(args[0], spec, args[1]),
        (data, crop_seeds),
        fn_output_signature=signature,
    )
