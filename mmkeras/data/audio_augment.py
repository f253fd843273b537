"""`AudioAugment`: random gain, noise and time shift for training waveforms (TensorFlow ops)."""

import tensorflow as tf

from mmkeras.argument_checks import check_fraction


class AudioAugment:
    """Random waveform augmentation applied to training batches only.

    Runs as stateless TensorFlow random ops seeded per element from `(seed, epoch, index)`, so
    a run is reproducible.

    Args:
        gain_db: float, maximum gain change in decibels (uniform in `[-gain_db, gain_db]`).
        noise: float, maximum standard deviation of added white noise (drawn in `[0, noise]`).
        shift: float, maximum time shift as a fraction of the example length (zero-filled).

    Example:
    >>> AudioSpec(sample_rate=16000, duration=1.0, augment=AudioAugment(gain_db=6, noise=0.005))
    """

    def __init__(self, gain_db=0.0, noise=0.0, shift=0.0):
        self.gain_db = check_fraction("gain_db", gain_db, "AudioAugment", upper=60.0)
        self.noise = check_fraction("noise", noise, "AudioAugment")
        self.shift = check_fraction("shift", shift, "AudioAugment")

    def augment_one(self, wave, seed):
        """Augments one waveform `(S,)` with the stateless seed `seed` (int64 `(2,)`)."""
        length = tf.shape(wave)[0]
        fold = tf.random.experimental.stateless_fold_in
        if self.gain_db:
            gain = tf.random.stateless_uniform([], fold(seed, 11), -self.gain_db, self.gain_db)
            wave = wave * tf.pow(10.0, gain / 20.0)
        if self.noise:
            std = tf.random.stateless_uniform([], fold(seed, 12), 0.0, self.noise)
            wave = wave + std * tf.random.stateless_normal([length], fold(seed, 13))
        if self.shift:
            max_shift = tf.cast(tf.cast(length, tf.float32) * self.shift, tf.int32)
            k = tf.random.stateless_uniform(
                [], fold(seed, 14), -max_shift, max_shift + 1, dtype=tf.int32
            )
            padded = tf.pad(wave, [[length, length]])
            wave = padded[length - k : 2 * length - k]
        return tf.clip_by_value(wave, -1.0, 1.0)

    def augment_batch(self, waves, seeds):
        """Augments `(B, S)` waveforms; `seeds` is int64 `(B, 2)`."""
        return tf.map_fn(
            lambda args: self.augment_one(args[0], args[1]),
            (waves, seeds),
            fn_output_signature=tf.TensorSpec(waves.shape[1:], tf.float32),
        )

    def get_config(self):
        return {"gain_db": self.gain_db, "noise": self.noise, "shift": self.shift}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"AudioAugment(gain_db={self.gain_db}, noise={self.noise}, shift={self.shift})"
