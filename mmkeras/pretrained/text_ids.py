"""Strings -> the token ids a pretrained text tower takes, as its checkpoint's tokenizer makes them.

The family's tokenizer (`Family.tokenizer(source)`) maps strings to ids; its
`spec_arguments(source)` name the start, end and pad ids and the checkpoint's length; keras-hub's
`StartEndPacker` adds the first two and pads (and truncates) to the length. The result equals
the reference tokenizer's `input_ids` with `padding="max_length"`, `truncation=True`.
"""

import numpy as np


class TextIds:
    """Tokenizes strings for one checkpoint's text tower.

    Args:
        source: the checkpoint (anything `mmkeras.pretrained.resolve_source` reads).
        length: int or None, the length of the id sequences; None: the checkpoint's number of
            positions.

    Call arguments:
        texts: a list of strings.

    Returns:
        int32 array `(len(texts), length)`.
    """

    def __init__(self, source, length=None):
        import keras_hub

        from mmkeras.pretrained.family import family_for
        from mmkeras.pretrained.sources import resolve_source

        resolved = resolve_source(source)
        family = family_for(resolved, "text")
        self.tokenizer = family.tokenizer(resolved)
        arguments = family.spec_arguments(resolved)
        self.length = int(length or arguments["max_length"])
        self.packer = keras_hub.layers.StartEndPacker(
            sequence_length=self.length,
            start_value=arguments["start_id"],
            end_value=arguments["end_id"],
            pad_value=arguments["pad_id"],
            return_padding_mask=False,
        )

    def __call__(self, texts):
        return np.asarray(self.packer(self.tokenizer(list(texts))), dtype="int32")


__all__ = ["TextIds"]
