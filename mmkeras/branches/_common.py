"""Input-shape check and output assembly shared by the branch builders (private)."""

import keras

from mmkeras.argument_checks import check_choice, check_positive_int, check_rate
from mmkeras.layers.modeling import SequenceMask


def check_input_shape(input_shape, rank, builder):
    ok = isinstance(input_shape, (tuple, list)) and len(input_shape) == rank
    ok = ok and all(
        d is None or (not isinstance(d, bool) and isinstance(d, int) and d > 0) for d in input_shape
    )
    if not ok:
        raise ValueError(
            f"{builder}: `input_shape` must be a tuple of {rank} positive integers (or None for "
            f"a variable size), without the batch axis; received input_shape={input_shape!r}."
        )
    return tuple(input_shape)


def branch_outputs(feature, sequence, mask, return_sequence):
    """The feature alone, or the `{"feature", "sequence", "sequence_mask"}` dict."""
    if not return_sequence:
        return feature
    if mask is None:
        mask = SequenceMask(name="sequence_mask")(sequence)
    return {"feature": feature, "sequence": sequence, "sequence_mask": mask}


def dense_head(x, output_dim, activation, dropout, name="feature"):
    """Optional dropout, then the projection to the branch's feature size."""
    if dropout:
        x = keras.layers.Dropout(dropout, name="feature_dropout")(x)
    return keras.layers.Dense(output_dim, activation=activation, name=name)(x)


RNN_CELLS = ("lstm", "gru")
RNN_POOLINGS = ("last", "mean")


def check_rnn_arguments(cell, units, num_layers, pooling, dropout, builder):
    """Checks the arguments of `rnn_stack` that a recurrent branch builder takes."""
    check_choice("cell", cell, RNN_CELLS, builder)
    check_positive_int("units", units, builder)
    check_positive_int("num_layers", num_layers, builder)
    check_choice("pooling", pooling, RNN_POOLINGS, builder)
    check_rate("dropout", dropout, builder)


def conv_bn_activation(
    x, filters, kernel_size, activation, prefix, conv_name=None, bn_momentum=0.99
):
    """A "same" convolution without bias, batch normalisation and `activation`.

    The layers are named `conv_name` (default `prefix`), `{prefix}_bn` and `{prefix}_act`.
    `bn_momentum` is the momentum of the normalisation's moving statistics.
    """
    x = keras.layers.Conv2D(
        filters, kernel_size, padding="same", use_bias=False, name=conv_name or prefix
    )(x)
    x = keras.layers.BatchNormalization(momentum=bn_momentum, name=f"{prefix}_bn")(x)
    return keras.layers.Activation(activation, name=f"{prefix}_act")(x)


def downsample(x, dropout, prefix):
    """Halves both spatial axes (`{prefix}_pool`), then spatial dropout (`{prefix}_dropout`).

    "same" pooling keeps at least one row and column, so small inputs take any number of blocks.
    """
    x = keras.layers.MaxPooling2D(2, padding="same", name=f"{prefix}_pool")(x)
    if dropout:
        x = keras.layers.SpatialDropout2D(dropout, name=f"{prefix}_dropout")(x)
    return x


def rnn_stack(x, cell, units, bidirectional, num_layers, dropout, pooling, mask=None):
    """Stacked (bidirectional) recurrent layers; returns `(sequence, pooled)`.

    `pooling="last"` pools to the final hidden state of each direction (the backward
    direction's final state is the one at the first position); `"mean"` averages the last
    layer's outputs over the real positions. Masks attached to `x` (e.g. by an `Embedding`
    with `mask_zero=True`) make both skip padding.
    """
    from mmkeras.layers.modeling import MaskedMeanPooling

    layer_cls = keras.layers.LSTM if cell == "lstm" else keras.layers.GRU
    for index in range(num_layers):
        last = index == num_layers - 1
        rnn = layer_cls(
            units,
            return_sequences=True,
            return_state=last and pooling == "last",
            dropout=dropout,
            name=f"{cell}{index}",
        )
        if bidirectional:
            rnn = keras.layers.Bidirectional(rnn, name=f"bidirectional_{cell}{index}")
        outputs = rnn(x)
        x = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
    if pooling == "mean":
        return x, MaskedMeanPooling(name="pool")(x, mask=mask)
    # State lists: LSTM (h, c) per direction, GRU (h,) per direction; keep the h of each.
    states = outputs[1:]
    per_direction = 2 if cell == "lstm" else 1
    hidden = states[::per_direction]
    if len(hidden) == 1:
        return x, hidden[0]
    return x, keras.layers.Concatenate(name="pool")(hidden)


AUDIO_NORMALIZATIONS = ("band", "utterance", "batch")


def audio_frontend(
    sample_rate,
    duration,
    n_mels,
    frame_length_ms,
    frame_step_ms,
    normalization,
    builder,
    pre_emphasis=None,
):
    """Checks the audio arguments; returns `(waveform_input, normalised_log_mel)`.

    `normalization`: `"band"` standardises each mel band over the frames of its own clip,
    `"utterance"` the whole clip over time and frequency (both per example, no batch
    statistics), `"batch"` is batch normalisation of each band. `pre_emphasis` is passed to
    `LogMelSpectrogram`.
    """
    from mmkeras.layers.modeling import LogMelSpectrogram

    check_positive_int("sample_rate", sample_rate, builder)
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) or duration <= 0:
        raise ValueError(
            f"{builder}: `duration` must be > 0 seconds; received duration={duration!r}."
        )
    check_positive_int("n_mels", n_mels, builder)
    for arg, value in (("frame_length_ms", frame_length_ms), ("frame_step_ms", frame_step_ms)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"{builder}: `{arg}` must be > 0; received {arg}={value!r}.")
    check_choice("normalization", normalization, AUDIO_NORMALIZATIONS, builder)
    if pre_emphasis is not None and (
        isinstance(pre_emphasis, bool)
        or not isinstance(pre_emphasis, (int, float))
        or not 0 <= pre_emphasis < 1
    ):
        raise ValueError(
            f"{builder}: `pre_emphasis` must be None or a float in [0, 1) (0.97 is usual); "
            f"received pre_emphasis={pre_emphasis!r}."
        )
    num_samples = int(round(sample_rate * duration))
    frame_length = max(1, int(round(sample_rate * frame_length_ms / 1000.0)))
    frame_step = max(1, int(round(sample_rate * frame_step_ms / 1000.0)))
    spectrogram = LogMelSpectrogram(
        sample_rate,
        n_mels=n_mels,
        frame_length=frame_length,
        frame_step=frame_step,
        pre_emphasis=pre_emphasis,
        name="log_mel",
    )
    if num_samples <= spectrogram.fft_length // 2:
        raise ValueError(
            f"{builder}: duration={duration} s at sample_rate={sample_rate} gives {num_samples} "
            f"samples, too short for frames of {frame_length_ms} ms (FFT of "
            f"{spectrogram.fft_length}); allowed: more than {spectrogram.fft_length // 2} samples."
        )
    waveform = keras.Input(shape=(num_samples,), dtype="float32", name="audio")
    x = spectrogram(waveform)
    if normalization == "band":
        # Standardising each band over time removes the clip's spectral tilt as well as its
        # loudness (channel and noise colour differ from clip to clip), and keeps how each band
        # moves in time, which is what tells the words apart.
        x = keras.layers.LayerNormalization(axis=1, center=False, scale=False, name="band_norm")(x)
    elif normalization == "utterance":
        # Standardising each clip over time and frequency removes its loudness (a constant in
        # log space), so recordings at different gains look alike.
        x = keras.layers.LayerNormalization(
            axis=(1, 2), center=False, scale=False, name="utterance_norm"
        )(x)
    else:
        x = keras.layers.BatchNormalization(axis=-1, name="mel_batch_norm")(x)
    return waveform, x
