"""`split_width`: the size of equal slices of a layer's input width (attention heads, groups)."""


def split_width(input_shape, parts, argument, where, rank=None):
    """Returns `width // parts` for the last axis of `input_shape`.

    Raises a `ValueError` naming `argument` (`"num_heads"`, `"groups"`) when the width is
    unknown or `parts` does not divide it, or when the input is not of rank `rank` (if given).
    """
    width = input_shape[-1]
    if (rank is not None and len(input_shape) != rank) or width is None or width % parts:
        of_rank = "" if rank is None else f" of rank {rank}"
        raise ValueError(
            f"{where}: the input must be{of_rank} with a width that is a multiple of "
            f"{argument}={parts}; received input_shape={tuple(input_shape)}."
        )
    return width // parts
