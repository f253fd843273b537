"""A recurrent audio encoder over log-mel frames."""

import keras

from mmkeras.argument_checks import check_positive_int
from mmkeras.branches._common import (
    audio_frontend,
    branch_outputs,
    check_rnn_arguments,
    dense_head,
    rnn_stack,
)
from mmkeras.branches.freezing import record_blocks


def audio_rnn(
    sample_rate=16000,
    duration=1.0,
    n_mels=64,
    output_dim=128,
    cell="gru",
    units=128,
    bidirectional=True,
    num_layers=1,
    frame_length_ms=25.0,
    frame_step_ms=10.0,
    normalization="utterance",
    pooling="mean",
    dropout=0.1,
    activation="relu",
    return_sequence=False,
    name="audio_rnn",
    pre_emphasis=None,
):
    """Builds an audio branch: log-mel spectrogram inside the model, then LSTM/GRU layers.

    The raw waveform goes in; `mmkeras.layers.LogMelSpectrogram` turns it into `(frames,
    n_mels)`, normalised (see `normalization`), and recurrent layers read the frames in order.

    Args:
        sample_rate: int, sampling rate of the input in Hz.
        duration: float, clip length in seconds; the input has `sample_rate * duration`
            samples.
        n_mels: int, number of mel bands.
        output_dim: int, size of the output feature.
        cell: `"lstm"` or `"gru"`.
        units: int, hidden size of each recurrent layer (per direction).
        bidirectional: bool, read the frames in both directions.
        num_layers: int, number of stacked recurrent layers.
        frame_length_ms: float, analysis window in milliseconds.
        frame_step_ms: float, hop between frames in milliseconds.
        normalization: `"utterance"`, `"band"` or `"batch"`, see `audio_cnn`.
        pooling: `"mean"` (average over frames) or `"last"` (final state of each direction).
        dropout: float in [0, 1), dropout on the recurrent inputs and before the projection.
        activation: activation of the output feature.
        return_sequence: bool, also return the per-frame outputs.
        name: name of the returned model.
        pre_emphasis: float in [0, 1) or None, pre-emphasis coefficient of the waveform
            (`LogMelSpectrogram(pre_emphasis=...)`, 0.97 is usual); None leaves it as it is.

    Returns:
        A functional `keras.Model` taking float32 waveforms `(batch, sample_rate *
        duration)`. It returns the feature `(batch, output_dim)`, or with
        `return_sequence=True` a dict: `"feature"`, `"sequence"` `(batch, frames, units *
        directions)` and `"sequence_mask"` `(batch, frames)`, all True.

    Example:
    >>> branch = audio_rnn(sample_rate=8000, duration=0.25, n_mels=32, units=16, output_dim=32)
    >>> print(branch(np.zeros((2, 2000), "float32")).shape)
    (2, 32)
    """
    builder = "audio_rnn"
    check_positive_int("output_dim", output_dim, builder)
    check_rnn_arguments(cell, units, num_layers, pooling, dropout, builder)
    waveform, x = audio_frontend(
        sample_rate,
        duration,
        n_mels,
        frame_length_ms,
        frame_step_ms,
        normalization,
        builder,
        pre_emphasis=pre_emphasis,
    )
    sequence, pooled = rnn_stack(x, cell, units, bidirectional, num_layers, dropout, pooling)
    feature = dense_head(pooled, output_dim, activation, dropout)
    outputs = branch_outputs(feature, sequence, None, return_sequence)
    return record_blocks(keras.Model(waveform, outputs, name=name))
