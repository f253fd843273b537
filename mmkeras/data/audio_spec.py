"""`AudioSpec`: how one audio input is decoded, resampled and cropped."""

import tensorflow as tf

from mmkeras.argument_checks import check_positive_int, check_positive_number
from mmkeras.data import file_checks
from mmkeras.data.audio_ops import crop_or_pad, decode_audio_batch, decode_wave
from mmkeras.data.spec import Spec, check_augment, input_seeds


class AudioSpec(Spec):
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
    >>> augment = mmkeras.data.AudioAugment(gain_db=6)
    >>> spec = AudioSpec(sample_rate=16000, duration=1.0, augment=augment)
    """

    modality = "audio"
    decodes_per_element = True

    def __init__(self, sample_rate=16000, duration=1.0, augment=None, max_duration=600.0):
        self.sample_rate = check_positive_int("sample_rate", sample_rate, "AudioSpec")
        self.duration = float(check_positive_number("duration", duration, "AudioSpec"))
        self.max_duration = check_positive_number(
            "max_duration", max_duration, "AudioSpec", allow_none=True
        )
        self.augment = check_augment(augment, "AudioSpec", "AudioAugment")

    @classmethod
    def from_pretrained(cls, pretrained, **kwargs):
        """An `AudioSpec` yielding waveforms as a pretrained audio encoder takes them.

        Args:
            pretrained: a branch built by `mk.branches.pretrained` (its checkpoint is read
                again), or a checkpoint (a keras-hub preset name, `"hf://org/name"`, a local
                folder) of an audio encoder.
            **kwargs: the other `AudioSpec` arguments (`augment`, `max_duration`, and
                `duration` for encoders that take any length); `sample_rate` comes from the
                checkpoint, and so does `duration` where the encoder takes a fixed length
                (Whisper's 30 s chunk).

        Returns:
            An `AudioSpec`.

        Example:
        >>> AudioSpec.from_pretrained("whisper").sample_rate  # a local Whisper checkpoint
        16000
        """
        source = getattr(pretrained, "pretrained_source", pretrained)
        if "sample_rate" in kwargs:
            raise ValueError(
                "AudioSpec.from_pretrained: `sample_rate` comes from the checkpoint; received "
                f"sample_rate={kwargs['sample_rate']!r}. Use AudioSpec(sample_rate=...) instead."
            )
        from mmkeras.pretrained.family import family_for
        from mmkeras.pretrained.sources import resolve_source

        resolved = resolve_source(source)
        arguments = family_for(resolved, "audio").spec_arguments(resolved)
        fixed = arguments.get("duration")
        if fixed is not None:
            if "duration" in kwargs and float(kwargs["duration"]) != float(fixed):
                raise ValueError(
                    f"AudioSpec.from_pretrained: this encoder takes {fixed} s of audio; received "
                    f"duration={kwargs['duration']!r}."
                )
            kwargs["duration"] = fixed
        return cls(sample_rate=int(arguments["sample_rate"]), **kwargs)

    @property
    def num_samples(self):
        """Length of one example in samples."""
        return int(round(self.sample_rate * self.duration))

    @property
    def shape(self):
        """Shape of one waveform: `(num_samples,)`."""
        return (self.num_samples,)

    # === Row checks ===

    @property
    def reads_file(self):
        return True

    def check_file(self, path, context):
        header = file_checks.wav_header(path)
        if header["frames"] == 0:
            return None, 0, ("audio_corrupt", "the WAV file has no samples", path)
        if self.max_duration is not None and header["duration"] > self.max_duration:
            detail = f"{header['duration']:.2f} s > max_duration {self.max_duration} s"
            return None, 0, ("audio_too_long", detail, path)
        return path, header["size"], None

    # === Decoding and augmentation ===

    def decode_batch(self, x):
        return decode_audio_batch(x, self), tf.strings.length(x) > 0

    def decode_element(self, x):
        # The whole waveform: the crop (random in training) comes after a cache.
        return decode_wave(x, self)

    def finish_element(self, x, seeds, index, training):
        return crop_or_pad(x, self, input_seeds(seeds, index) if training else None)

    def augment_batch(self, x, seeds, index):
        if self.augment is None:
            return x
        return self.augment.augment_batch(x, input_seeds(seeds, index, offset=32))

    # === Config ===

    def get_config(self):
        return {
            "sample_rate": self.sample_rate,
            "duration": self.duration,
            "augment": self.augment_config(),
            "max_duration": self.max_duration,
        }

    @classmethod
    def augment_class(cls):
        from mmkeras.data.audio_augment import AudioAugment

        return AudioAugment

    def __repr__(self):
        return (
            f"AudioSpec(sample_rate={self.sample_rate}, duration={self.duration}, "
            f"augment={self.augment!r})"
        )
