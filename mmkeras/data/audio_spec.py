"""`AudioSpec`: how one audio input is decoded, resampled and cropped."""

from mmkeras.argument_checks import check_positive_int, check_positive_number


class AudioSpec:
    """Describes an audio (WAV) input of a `Pipeline`.

    Files are 16-bit PCM WAV, decoded with `tf.audio.decode_wav`, mixed down to mono, resampled
    to `sample_rate` by linear interpolation when the file's rate differs, then cropped or
    zero-padded to `duration` seconds: a centred crop in evaluation (and export), a random crop in
    training. The result is float32 `(sample_rate * duration,)` in -1..1.

    Args:
        sample_rate: int, samples per second the pipeline yields.
        duration: float, seconds per example.
        augment: optional `AudioAugment` (gain, noise, shift) applied in training only.
        max_duration: float or None, files longer than this (read from the WAV header) are
            rejected by validation.

    Example:
    >>> spec = AudioSpec(sample_rate=16000, duration=1.0, augment=AudioAugment(gain_db=6))
    """

    modality = "audio"

    def __init__(self, sample_rate=16000, duration=1.0, augment=None, max_duration=600.0):
        check_positive_int("sample_rate", sample_rate, "AudioSpec")
        check_positive_number("duration", duration, "AudioSpec")
        check_positive_number("max_duration", max_duration, "AudioSpec", allow_none=True)
        if augment is not None and not hasattr(augment, "augment_batch"):
            raise ValueError(
                "AudioSpec: `augment` must be an `AudioAugment` or None, "
                f"received {type(augment).__name__}."
            )
        self.sample_rate = sample_rate
        self.duration = float(duration)
        self.augment = augment
        self.max_duration = max_duration

    @property
    def num_samples(self):
        """Length of one example in samples."""
        return int(round(self.sample_rate * self.duration))

    @property
    def shape(self):
        return (self.num_samples,)

    def get_config(self):
        return {
            "sample_rate": self.sample_rate,
            "duration": self.duration,
            "augment": None if self.augment is None else self.augment.get_config(),
            "max_duration": self.max_duration,
        }

    @classmethod
    def from_config(cls, config):
        from mmkeras.data.audio_augment import AudioAugment

        config = dict(config)
        if config.get("augment") is not None:
            config["augment"] = AudioAugment.from_config(config["augment"])
        return cls(**config)

    def __repr__(self):
        return (
            f"AudioSpec(sample_rate={self.sample_rate}, duration={self.duration}, "
            f"augment={self.augment!r})"
        )
