"""Whisper's log-mel features of a raw waveform, computed inside the model."""

import math

import keras
import numpy as np
from keras import ops

from mmkeras.argument_checks import check_positive_int
from mmkeras.layers.batch_steps_layer import BatchStepsLayer
from mmkeras.layers.config_arguments import ConfigArgumentsMixin
from mmkeras.layers.modeling.log_mel_spectrogram import check_stft_samples, power_spectrogram

# Whisper's filterbank spans 0 Hz to 8 kHz whatever the sampling rate.
MIN_FREQUENCY = 0.0
MAX_FREQUENCY = 8000.0
# Below 1 kHz the Slaney mel scale is linear (3 mels per 200 Hz); above, logarithmic with
# 27 mels per factor 6.4.
_LINEAR_TOP_HZ = 1000.0
_HZ_PER_MEL = 200.0 / 3.0
_LINEAR_TOP_MEL = _LINEAR_TOP_HZ / _HZ_PER_MEL
_LOG_STEP = math.log(6.4) / 27.0


def _hz_to_slaney_mel(hz):
    hz = np.asarray(hz, dtype="float64")
    above = _LINEAR_TOP_MEL + np.log(np.maximum(hz, _LINEAR_TOP_HZ) / _LINEAR_TOP_HZ) / _LOG_STEP
    return np.where(hz >= _LINEAR_TOP_HZ, above, hz / _HZ_PER_MEL)


def _slaney_mel_to_hz(mel):
    mel = np.asarray(mel, dtype="float64")
    above = _LINEAR_TOP_HZ * np.exp(
        _LOG_STEP * (np.maximum(mel, _LINEAR_TOP_MEL) - _LINEAR_TOP_MEL)
    )
    return np.where(mel >= _LINEAR_TOP_MEL, above, mel * _HZ_PER_MEL)


def slaney_mel_filterbank(num_frequency_bins, num_mel_bins, sample_rate):
    """Whisper's mel filters: a `(num_frequency_bins, num_mel_bins)` float64 matrix.

    Triangular filters with edges equally spaced on the Slaney mel scale between 0 and 8 kHz,
    each scaled by `2 / (upper_edge_hz - lower_edge_hz)` (Slaney's area normalisation), applied
    to the `num_frequency_bins` bins of a real FFT spanning 0 to `sample_rate / 2`.
    """
    bin_hz = np.linspace(0.0, sample_rate / 2.0, num_frequency_bins)
    mel_edges = np.linspace(
        _hz_to_slaney_mel(MIN_FREQUENCY), _hz_to_slaney_mel(MAX_FREQUENCY), num_mel_bins + 2
    )
    edges_hz = _slaney_mel_to_hz(mel_edges)
    lower, centre, upper = edges_hz[:-2], edges_hz[1:-1], edges_hz[2:]
    rising = (bin_hz[:, None] - lower[None, :]) / (centre - lower)[None, :]
    falling = (upper[None, :] - bin_hz[:, None]) / (upper - centre)[None, :]
    triangles = np.maximum(0.0, np.minimum(rising, falling))
    return triangles * (2.0 / (upper - lower))[None, :]


@keras.saving.register_keras_serializable(package="mmkeras")
class WhisperLogMel(ConfigArgumentsMixin, BatchStepsLayer):
    """Turns waveforms into the log-mel features a Whisper encoder reads.

    The steps of Whisper's feature extractor: each waveform is zero-padded at the end, or cut,
    to `num_samples`; framed with a periodic Hann window of `n_fft` samples every `hop_length`
    samples, centred (reflect-padded by `n_fft / 2` on each side) with the last frame dropped,
    so `num_samples / hop_length` frames; its power spectrum is projected onto
    `num_mel_bins` Slaney mel filters (0 to 8 kHz, area-normalised); then
    `log10(max(mel, 1e-10))`, clipped below at (its own maximum - 8), mapped by
    `(x + 4) / 4`. The clip uses each example's own maximum, so an example's features do not
    depend on the rest of the batch. Computed in float32 whatever the dtype policy, then cast
    to the compute dtype.

    Args:
        sample_rate: int, sampling rate of the waveform in Hz.
        num_mel_bins: int, number of mel bins (80, or 128 for Whisper large-v3).
        n_fft: int, window and FFT length in samples.
        hop_length: int, hop between frames in samples.
        num_samples: int or None, the length every waveform is padded or cut to (the
            extractor's `n_samples`: chunk length times sampling rate); None keeps the
            waveform's own length.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, samples)`, mono waveform in -1..1.

    Returns:
        Float tensor `(batch, frames, num_mel_bins)`, `frames = num_samples // hop_length`.

    Example:
    >>> layer = WhisperLogMel(sample_rate=16000, num_mel_bins=80, num_samples=16000)
    >>> print(layer(keras.random.normal((2, 5920))).shape)
    (2, 100, 80)
    """

    input_description = "waveforms of shape (batch, samples)"
    config_arguments = ("sample_rate", "num_mel_bins", "n_fft", "hop_length", "num_samples")

    def __init__(
        self,
        sample_rate=16000,
        num_mel_bins=80,
        n_fft=400,
        hop_length=160,
        num_samples=480000,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.sample_rate = check_positive_int("sample_rate", sample_rate, "WhisperLogMel")
        self.num_mel_bins = check_positive_int("num_mel_bins", num_mel_bins, "WhisperLogMel")
        self.n_fft = check_positive_int("n_fft", n_fft, "WhisperLogMel")
        self.hop_length = check_positive_int("hop_length", hop_length, "WhisperLogMel")
        self.num_samples = check_positive_int(
            "num_samples", num_samples, "WhisperLogMel", allow_none=True
        )
        if num_samples is not None and num_samples <= n_fft // 2:
            raise ValueError(
                f"WhisperLogMel: `num_samples` must be more than n_fft / 2 = {n_fft // 2} (the "
                f"reflect padding needs it); received num_samples={num_samples}."
            )
        self._filters = slaney_mel_filterbank(n_fft // 2 + 1, num_mel_bins, sample_rate).astype(
            "float32"
        )

    def check_input_shape(self, input_shape):
        super().check_input_shape(input_shape)
        if self.num_samples is None:
            check_stft_samples(input_shape[-1], self.n_fft, "n_fft", "WhisperLogMel")

    def _pad_or_cut(self, waveform):
        samples = waveform.shape[-1]
        target = self.num_samples
        if samples is not None:
            if samples < target:
                return ops.pad(waveform, [[0, 0], [0, target - samples]])
            return waveform[:, :target]
        # Length known only when the model runs: append `target` zeros, keep the first `target`.
        zeros = ops.zeros((ops.shape(waveform)[0], target), dtype=waveform.dtype)
        return ops.reshape(ops.concatenate([waveform, zeros], axis=1)[:, :target], (-1, target))

    def call(self, inputs):
        waveform = ops.cast(inputs, "float32")
        if self.num_samples is not None:
            waveform = self._pad_or_cut(waveform)
        power = power_spectrogram(waveform, self.n_fft, self.hop_length, self.n_fft)[:, :-1, :]
        mel = ops.matmul(power, ops.convert_to_tensor(self._filters))
        log_mel = ops.log(ops.maximum(mel, 1e-10)) / math.log(10.0)
        ceiling = ops.max(log_mel, axis=(1, 2), keepdims=True)
        log_mel = ops.maximum(log_mel, ceiling - 8.0)
        return ops.cast((log_mel + 4.0) / 4.0, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        samples = self.num_samples if self.num_samples is not None else input_shape[-1]
        frames = None if samples is None else samples // self.hop_length
        return (input_shape[0], frames, self.num_mel_bins)
