"""Which steps of an audio encoder's output come from real audio, and which from padding."""

import keras
from keras import ops

from mmkeras.argument_checks import check_positive_int
from mmkeras.layers.batch_steps_layer import BatchStepsLayer


@keras.saving.register_keras_serializable(package="mmkeras")
class WaveformPaddingMask(BatchStepsLayer):
    """Marks the output steps of an audio encoder that lie over real audio, not padding.

    A waveform's real length is taken to end at its last non-zero sample: the data pipeline
    (`mk.data.AudioSpec`) and the encoders' own feature extractors pad with zeros at the end.
    Step `t` of the encoder's output is centred on sample `t * samples_per_step`; it is real
    when that sample lies before the end. A waveform with no non-zero sample (silence) is
    real everywhere: nothing shows where its padding starts.

    Args:
        samples_per_step: int, waveform samples per output step (Whisper: hop 160 times the
            stride 2 of its second convolution = 320).
        num_steps: int, number of output steps of the encoder (Whisper: its
            `max_source_positions`).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: float tensor `(batch, samples)`.

    Returns:
        Bool tensor `(batch, num_steps)`, True at real steps.

    Example:
    >>> wave = np.zeros((1, 2000), "float32")
    >>> wave[0, :700] = 0.5  # 700 real samples: steps centred on samples 0, 320, 640
    >>> keras.ops.convert_to_numpy(WaveformPaddingMask(320, num_steps=6)(wave))
    array([[ True,  True,  True, False, False, False]])
    """

    input_description = "waveforms of shape (batch, samples)"
    output_dtype = "bool"

    def __init__(self, samples_per_step, num_steps, **kwargs):
        super().__init__(**kwargs)
        self.samples_per_step = check_positive_int(
            "samples_per_step", samples_per_step, "WaveformPaddingMask"
        )
        self.num_steps = check_positive_int("num_steps", num_steps, "WaveformPaddingMask")

    def call(self, inputs):
        samples = ops.shape(inputs)[1]
        ends = ops.arange(1, samples + 1, dtype="int32")
        nonzero = ops.not_equal(inputs, ops.cast(0, inputs.dtype))
        length = ops.max(ops.where(nonzero, ends[None, :], 0), axis=1, keepdims=True)
        centres = ops.arange(self.num_steps, dtype="int32")[None, :] * self.samples_per_step
        return ops.logical_or(centres < length, length == 0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_steps)

    def get_config(self):
        return {
            **super().get_config(),
            "samples_per_step": self.samples_per_step,
            "num_steps": self.num_steps,
        }
