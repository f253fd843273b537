"""A convolutional audio encoder over log-mel spectrograms."""

import keras

from mmkeras.argument_checks import (
    check_choice,
    check_positive_int,
    check_positive_ints,
    check_rate,
)
from mmkeras.branches._common import (
    audio_frontend,
    branch_outputs,
    conv_bn_activation,
    dense_head,
    downsample,
)
from mmkeras.branches.freezing import record_blocks

POOLINGS = ("avg", "max", "time_avg", "time_max")


def audio_cnn(
    sample_rate=16000,
    duration=1.0,
    n_mels=64,
    output_dim=128,
    filters=(32, 64, 128),
    frame_length_ms=25.0,
    frame_step_ms=10.0,
    normalization="utterance",
    dropout=0.1,
    activation="relu",
    return_sequence=False,
    name="audio_cnn",
    pre_emphasis=None,
    pooling="time_max",
    bn_momentum=0.99,
):
    """Builds an audio branch: log-mel spectrogram inside the model, then a 2-D CNN.

    The raw waveform goes in. `mmkeras.layers.LogMelSpectrogram` turns it into `(frames,
    n_mels)`, which is normalised (see `normalization`) and read as a one-channel image by
    blocks of Conv2D -> BatchNormalization -> activation -> 2x2 max pooling. The last map is
    pooled (see `pooling`) and projected to `output_dim`.

    Args:
        sample_rate: int, sampling rate of the input in Hz.
        duration: float, clip length in seconds; the input has `sample_rate * duration`
            samples.
        n_mels: int, number of mel bands.
        output_dim: int, size of the output feature.
        filters: tuple of ints, filters of each convolution block.
        frame_length_ms: float, analysis window in milliseconds.
        frame_step_ms: float, hop between frames in milliseconds.
        normalization: `"utterance"` (standardise each clip over time and frequency),
            `"band"` (standardise each mel band of each clip over time, as Ludwig's
            `per_file` normalisation; no batch statistics) or `"batch"` (batch normalisation
            of each mel band). On AV-Digits `"band"` and `pre_emphasis` lowered accuracy, so
            the defaults are `"utterance"` and None.
        dropout: float in [0, 1), dropout after each block and before the projection.
        bn_momentum: float in [0, 1), momentum of the batch normalisations' moving statistics
            (see `image_cnn`).
        activation: activation of the convolutions and of the output feature.
        return_sequence: bool, also return a sequence of frames.
        name: name of the returned model.
        pre_emphasis: float in [0, 1) or None, pre-emphasis coefficient of the waveform
            (`LogMelSpectrogram(pre_emphasis=...)`, 0.97 is usual); None leaves it as it is.
        pooling: how the last map `(frames, bands, filters[-1])` becomes one vector:
            `"time_max"` / `"time_avg"` over frames only, keeping each band (`bands *
            filters[-1]` values), or `"avg"` / `"max"` over frames and bands. A word can start
            anywhere in the clip, but which band sounds is what it is: on AV-Digits
            audio-only, mean test accuracy over two seeds went from 35.0% with `"avg"` to
            81.5% with `"time_max"` (docs/demo.md, "Branch defaults, measured").

    Returns:
        A functional `keras.Model` taking float32 waveforms `(batch, sample_rate *
        duration)`. It returns the feature `(batch, output_dim)`, or with
        `return_sequence=True` a dict: `"feature"`, `"sequence"` `(batch, pooled_frames,
        filters[-1])` (the last map averaged over frequency) and `"sequence_mask"`
        `(batch, pooled_frames)`, all True.

    Example:
    >>> branch = audio_cnn(sample_rate=8000, duration=0.25, n_mels=32, filters=(8, 16),
    ...                    output_dim=32)
    >>> print(branch(np.zeros((2, 2000), "float32")).shape)
    (2, 32)
    """
    builder = "audio_cnn"
    check_positive_int("output_dim", output_dim, builder)
    filters = check_positive_ints("filters", filters, builder)
    check_rate("dropout", dropout, builder)
    check_rate("bn_momentum", bn_momentum, builder)
    check_choice("pooling", pooling, POOLINGS, builder)
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
    x = keras.layers.Reshape((-1, n_mels, 1), name="add_channel")(x)
    for block, block_filters in enumerate(filters):
        prefix = f"block{block}"
        x = conv_bn_activation(
            x, block_filters, 3, activation, prefix, f"{prefix}_conv", bn_momentum=bn_momentum
        )
        # "same" pooling keeps at least one frame and band, so short clips take any depth.
        x = downsample(x, dropout, prefix)
    pooled = _pool(x, pooling)
    feature = dense_head(pooled, output_dim, activation, dropout)
    sequence = None
    if return_sequence:
        bands = x.shape[2]
        sequence = keras.layers.AveragePooling2D((1, bands), name="frequency_pool")(x)
        sequence = keras.layers.Reshape((-1, filters[-1]), name="sequence")(sequence)
    outputs = branch_outputs(feature, sequence, None, return_sequence)
    return record_blocks(keras.Model(waveform, outputs, name=name))


def _pool(feature_map, pooling):
    """The last map pooled to a vector by layers named "pool"."""
    if pooling == "avg":
        return keras.layers.GlobalAveragePooling2D(name="pool")(feature_map)
    if pooling == "max":
        return keras.layers.GlobalMaxPooling2D(name="pool")(feature_map)
    frames = feature_map.shape[1]
    layer = keras.layers.AveragePooling2D if pooling == "time_avg" else keras.layers.MaxPooling2D
    over_time = layer((frames, 1), name="time_pool")(feature_map)
    return keras.layers.Flatten(name="pool")(over_time)
