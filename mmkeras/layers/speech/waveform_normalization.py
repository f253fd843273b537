"""Per-utterance zero-mean, unit-variance normalisation of zero-padded waveforms."""

import keras
from keras import ops

from mmkeras.argument_checks import check_positive_number
from mmkeras.layers.batch_steps_layer import BatchStepsLayer
from mmkeras.layers.speech._ops import length_mask, real_lengths


@keras.saving.register_keras_serializable(package="mmkeras")
class WaveformNormalization(BatchStepsLayer):
    """Normalises each waveform to zero mean and unit variance over its real samples.

    `(x - mean) / sqrt(var + epsilon)` with the mean and (biased) variance of the row's real
    samples, as the wav2vec2 / HuBERT feature extractor (`do_normalize=True`) computes them for
    a clip; padded samples come out as 0. A row's real samples are its first `lengths[i]`,
    by default those up to its last nonzero sample (see `WaveformLength`), so a clip gives the
    same values however much zero padding follows it.

    Args:
        epsilon: float > 0 added to the variance (the reference extractor uses 1e-7).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, samples)`.
        lengths: optional int tensor `(batch,)`, the real samples of each row.

    Returns:
        Float tensor `(batch, samples)`.

    Example:
    >>> waveform = np.array([[1.0, 2.0, 3.0, 0.0, 0.0]], "float32")
    >>> np.round(keras.ops.convert_to_numpy(WaveformNormalization()(waveform)), 4)
    array([[-1.2247,  0.    ,  1.2247,  0.    ,  0.    ]], dtype=float32)
    """

    input_description = "waveforms of shape (batch, samples)"

    def __init__(self, epsilon=1e-7, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = check_positive_number("epsilon", epsilon, "WaveformNormalization")

    def call(self, inputs, lengths=None):
        if lengths is None:
            lengths = real_lengths(inputs)
        x = ops.cast(inputs, "float32")
        real = length_mask(lengths, ops.shape(x)[1])
        weights = ops.cast(real, "float32")
        count = ops.maximum(ops.sum(weights, axis=1, keepdims=True), 1.0)
        mean = ops.sum(x * weights, axis=1, keepdims=True) / count
        variance = ops.sum(ops.square(x - mean) * weights, axis=1, keepdims=True) / count
        normalized = ops.where(real, (x - mean) / ops.sqrt(variance + self.epsilon), 0.0)
        return ops.cast(normalized, self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
