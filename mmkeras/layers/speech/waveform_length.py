"""The real length of each zero-padded waveform of a batch."""

import keras

from mmkeras.layers.batch_steps_layer import BatchStepsLayer
from mmkeras.layers.speech._ops import real_lengths


@keras.saving.register_keras_serializable(package="mmkeras")
class WaveformLength(BatchStepsLayer):
    """Returns how many samples of each waveform are real: up to and including the last nonzero one.

    mmkeras pipelines pad (and a Hugging Face feature extractor pads) waveforms with zeros at
    the end, so a branch that takes one raw tensor learns each clip's length from it. Trailing
    samples that are exactly zero in the recording itself count as padding (digital silence).
    A waveform with no nonzero sample is real over its whole length (as `WaveformPaddingMask`
    has it): nothing shows where its padding would start.

    Args:
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, samples)`.

    Returns:
        int32 tensor `(batch,)`.

    Example:
    >>> waveform = np.array([[0.1, -0.2, 0.3, 0.0], [0.0, 0.5, 0.0, 0.0]], "float32")
    >>> keras.ops.convert_to_numpy(WaveformLength()(waveform))
    array([3, 2], dtype=int32)
    >>> keras.ops.convert_to_numpy(WaveformLength()(np.zeros((1, 4), "float32")))  # silence
    array([4], dtype=int32)
    """

    input_description = "waveforms of shape (batch, samples)"
    output_dtype = "int32"

    def call(self, inputs):
        return real_lengths(inputs)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)
