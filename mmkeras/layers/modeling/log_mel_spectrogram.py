"""Log-mel spectrogram of a raw waveform, computed inside the model."""

import math

import keras
import numpy as np
from keras import ops

from mmkeras.argument_checks import check_positive_int
from mmkeras.layers.batch_steps_layer import BatchStepsLayer
from mmkeras.layers.config_arguments import ConfigArgumentsMixin


def _hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype="float64") / 700.0)


def _mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, dtype="float64") / 2595.0) - 1.0)


def _mel_filterbank(num_bins, sample_rate, n_mels, min_freq, max_freq):
    """Triangular mel filters (HTK mel scale) as a `(num_bins, n_mels)` float32 matrix."""
    bin_hz = np.linspace(0.0, sample_rate / 2.0, num_bins)
    edges_hz = _mel_to_hz(np.linspace(_hz_to_mel(min_freq), _hz_to_mel(max_freq), n_mels + 2))
    lower, centre, upper = edges_hz[:-2], edges_hz[1:-1], edges_hz[2:]
    rising = (bin_hz[:, None] - lower[None, :]) / (centre - lower)[None, :]
    falling = (upper[None, :] - bin_hz[:, None]) / (upper - centre)[None, :]
    return np.maximum(0.0, np.minimum(rising, falling)).astype("float32")


def check_stft_samples(samples, fft_length, argument, where):
    """Raises unless a waveform of `samples` (None: not known yet) is longer than half the FFT,
    which a centred short-time Fourier transform reflect-pads on each side."""
    if samples is not None and samples <= fft_length // 2:
        raise ValueError(
            f"{where} needs more than {argument} / 2 = {fft_length // 2} samples; received "
            f"{samples}. Use a longer duration."
        )


def power_spectrogram(waveform, frame_length, frame_step, fft_length):
    """`|STFT|^2` `(batch, frames, fft_length // 2 + 1)` of float32 waveforms, with centred
    (reflect-padded) Hann-windowed frames."""
    real, imag = ops.stft(
        waveform,
        sequence_length=frame_length,
        sequence_stride=frame_step,
        fft_length=fft_length,
        window="hann",
        center=True,
    )
    return ops.square(real) + ops.square(imag)


@keras.saving.register_keras_serializable(package="mmkeras")
class LogMelSpectrogram(ConfigArgumentsMixin, BatchStepsLayer):
    """Turns a batch of waveforms into log-mel spectrograms, one row per frame.

    Frames are centred (the waveform is reflect-padded by half an FFT window on each side), so
    a waveform of `S` samples gives `1 + S // frame_step` frames. With `pre_emphasis=a` the
    waveform is first filtered as `y[t] = x[t] - a * x[t - 1]` (`y[0] = x[0]`), which lifts the
    high frequencies that carry consonants above the loud low ones. Each frame is Hann-windowed,
    its power spectrum is projected onto `n_mels` triangular mel filters and the result is
    `log(mel_power + log_offset)`. Computed in float32 whatever the dtype policy (FFTs in half
    precision lose the quiet bands), then cast to the compute dtype. Every frame is computed
    independently of the rest of the batch.

    Args:
        sample_rate: int, sampling rate of the waveform in Hz.
        n_mels: int, number of mel bands.
        frame_length: int, window length in samples.
        frame_step: int, hop between frames in samples.
        fft_length: int or None, FFT size (>= `frame_length`); None picks the next power of 2.
        min_freq: float, lowest mel band edge in Hz.
        max_freq: float or None, highest mel band edge in Hz; None means `sample_rate / 2`.
        log_offset: float > 0, added to the mel power before the log so silence stays finite.
        pre_emphasis: float in [0, 1) or None, coefficient of the pre-emphasis filter (0.97 is
            usual); None (or 0) leaves the waveform as it is.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, samples)`, mono waveform in -1..1.

    Returns:
        Float tensor `(batch, frames, n_mels)`.

    Example:
    >>> layer = LogMelSpectrogram(sample_rate=8000, n_mels=32, frame_length=200, frame_step=80)
    >>> print(layer(keras.random.normal((2, 2000))).shape)
    (2, 26, 32)
    """

    input_description = "waveforms of shape (batch, samples)"
    config_arguments = (
        "sample_rate",
        "n_mels",
        "frame_length",
        "frame_step",
        "fft_length",
        "min_freq",
        "max_freq",
        "log_offset",
        "pre_emphasis",
    )

    def __init__(
        self,
        sample_rate,
        n_mels=64,
        frame_length=400,
        frame_step=160,
        fft_length=None,
        min_freq=20.0,
        max_freq=None,
        log_offset=1e-6,
        pre_emphasis=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int("sample_rate", sample_rate)
        check_positive_int("n_mels", n_mels)
        check_positive_int("frame_length", frame_length)
        check_positive_int("frame_step", frame_step)
        if fft_length is None:
            fft_length = 2 ** math.ceil(math.log2(frame_length))
        check_positive_int("fft_length", fft_length)
        if fft_length < frame_length:
            raise ValueError(
                f"`fft_length` must be >= frame_length={frame_length}; received "
                f"fft_length={fft_length}."
            )
        nyquist = sample_rate / 2.0
        top = nyquist if max_freq is None else max_freq
        if not 0 <= min_freq < top <= nyquist:
            raise ValueError(
                "Need 0 <= min_freq < max_freq <= sample_rate / 2; received "
                f"min_freq={min_freq!r}, max_freq={max_freq!r}, sample_rate={sample_rate}."
            )
        if not log_offset > 0:
            raise ValueError(f"`log_offset` must be > 0; received log_offset={log_offset!r}.")
        if pre_emphasis is not None and (
            isinstance(pre_emphasis, bool)
            or not isinstance(pre_emphasis, (int, float))
            or not 0 <= pre_emphasis < 1
        ):
            raise ValueError(
                "`pre_emphasis` must be None or a float in [0, 1); received "
                f"pre_emphasis={pre_emphasis!r}."
            )
        self.sample_rate = sample_rate
        self.n_mels = n_mels
        self.frame_length = frame_length
        self.frame_step = frame_step
        self.fft_length = fft_length
        self.min_freq = min_freq
        self.max_freq = max_freq
        self.log_offset = log_offset
        self.pre_emphasis = pre_emphasis
        self._filterbank = _mel_filterbank(fft_length // 2 + 1, sample_rate, n_mels, min_freq, top)

    def check_input_shape(self, input_shape):
        super().check_input_shape(input_shape)
        check_stft_samples(input_shape[-1], self.fft_length, "fft_length", "LogMelSpectrogram")

    def call(self, inputs):
        waveform = ops.cast(inputs, "float32")
        if self.pre_emphasis:
            waveform = ops.concatenate(
                [waveform[:, :1], waveform[:, 1:] - self.pre_emphasis * waveform[:, :-1]], axis=1
            )
        power = power_spectrogram(waveform, self.frame_length, self.frame_step, self.fft_length)
        mel = ops.matmul(power, ops.convert_to_tensor(self._filterbank))
        return ops.cast(ops.log(mel + self.log_offset), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        samples = input_shape[-1]
        frames = None if samples is None else 1 + samples // self.frame_step
        return (input_shape[0], frames, self.n_mels)
