"""Input checks shared by the caption decoders (private)."""


def split_decoder_shapes(layer_name, input_shape, attention):
    """Returns `(tokens, feature, sequence, mask)` shapes from a decoder's input shape tuple."""
    shapes = list(input_shape) if isinstance(input_shape, (list, tuple)) else []
    if len(shapes) < 2 or not all(isinstance(s, (list, tuple)) for s in shapes) or len(shapes) > 4:
        raise ValueError(
            f"{layer_name} takes a tuple (token_ids, image_feature[, image_sequence[, "
            f"sequence_mask]]); received input_shape={input_shape}."
        )
    shapes += [None] * (4 - len(shapes))
    tokens, feature, sequence, mask = (tuple(s) if s is not None else None for s in shapes)
    if len(tokens) != 2 or len(feature) != 2:
        raise ValueError(
            f"{layer_name} expects token_ids (batch, steps) and image_feature (batch, dim); "
            f"received {tokens} and {feature}."
        )
    if attention and (sequence is None or len(sequence) != 3):
        raise ValueError(
            f"{layer_name} with attention=True needs image_sequence (batch, regions, dim) as "
            f"the third input; received {sequence}. Build the image branch with "
            "return_sequence=True, or use attention=False."
        )
    return tokens, feature, sequence, mask


def split_decoder_inputs(inputs):
    """Returns `(tokens, feature, sequence, mask)` from a decoder's input tuple (missing = None)."""
    inputs = list(inputs) + [None] * (4 - len(inputs))
    return tuple(inputs[:4])
