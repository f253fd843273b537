"""`waveform_input`: the raw input of a pretrained audio branch."""

import keras


def waveform_input(branch, samples=None, input_shape=None, minimum=1):
    """`keras.Input` of float32 waveforms `(batch, samples)`, named "audio".

    Args:
        branch: str, the family's name, for error messages.
        samples: int or None, the waveform length (from `duration=`), or None for any.
        input_shape: optional `(samples,)` or `(None,)`; when given, it sets the length.
        minimum: int, the fewest samples the encoder takes.
    """
    if input_shape is not None:
        shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
        ok = shape is not None and len(shape) == 1
        ok = ok and (shape[0] is None or (isinstance(shape[0], int) and shape[0] >= minimum))
        if not ok:
            at_least = f" with at least {minimum} samples" if minimum > 1 else ""
            raise ValueError(
                f"pretrained: a {branch} branch takes waveforms (batch, samples): input_shape "
                f"must be (samples,){at_least} or (None,); received "
                f"input_shape={input_shape!r}."
            )
        samples = shape[0]
    return keras.Input(shape=(samples,), dtype="float32", name="audio")
