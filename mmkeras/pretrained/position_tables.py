"""Resizing a vision transformer's position table to another grid, as PyTorch resamples it.

A checkpoint's table holds one embedding per patch of the image size it was trained at (plus
one for the class token). Run at another size, the reference implementations (Hugging Face's
DINOv2) resample the patch embeddings as an image with PyTorch's bicubic interpolation
(`align_corners=False`; antialiased for DINOv2 with registers). Without antialiasing,
TensorFlow's bicubic resize uses another kernel coefficient (-0.5 instead of -0.75) and another
border rule, which moved DINOv2's last hidden state by 0.05 on the tiny reference checkpoint
(8x8 patches resampled to 7x7); with it, TensorFlow and PyTorch agree. These functions
reproduce PyTorch's arithmetic in both cases, once, in NumPy, when a branch is built.

Bicubic resampling is separable: each axis is a matrix product with `bicubic_matrix`.
"""

import numpy as np


def _cubic(distance, a):
    """Keys' cubic convolution kernel with coefficient `a`."""
    x = np.abs(distance)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = (((x - 5) * x + 8) * x - 4) * a
    return np.where(x <= 1, near, np.where(x < 2, far, 0.0))


def bicubic_matrix(source, target, antialias=False):
    """The `(target, source)` matrix resampling one axis as PyTorch's bicubic interpolation.

    Args:
        source: int, the length of the axis before.
        target: int, the length after.
        antialias: bool. False: `torch.nn.functional.interpolate(mode="bicubic",
            align_corners=False)`, coefficient -0.75, taps beyond the border repeat the edge.
            True: the same with `antialias=True`, coefficient -0.5, the kernel widened by the
            scale when shrinking, taps beyond the border dropped and the weights renormalised.

    Returns:
        float64 array `(target, source)`; each row sums to one.
    """
    scale = source / target
    matrix = np.zeros((target, source), np.float64)
    if not antialias:
        for i in range(target):
            position = (i + 0.5) * scale - 0.5
            first = np.floor(position)
            fraction = position - first
            for tap in range(-1, 3):
                j = int(min(max(first + tap, 0), source - 1))
                matrix[i, j] += _cubic(fraction - tap, -0.75)
        return matrix
    stretch = max(scale, 1.0)
    support = 2.0 * stretch
    for i in range(target):
        center = scale * (i + 0.5)
        low = max(int(center - support + 0.5), 0)
        high = min(int(center + support + 0.5), source)
        taps = np.arange(low, high)
        weights = _cubic((taps - center + 0.5) / stretch, -0.5)
        matrix[i, low:high] = weights / weights.sum()
    return matrix


def resize_position_table(table, target_grid, antialias=False):
    """A position table `(1, 1 + h * w, width)` resampled to a `(height, width)` patch grid.

    The first row (the class token's) is kept; the others, a square grid, are resampled with
    `bicubic_matrix` in float64 and returned as float32. The same grid returns the table as is.

    Args:
        table: array `(1, 1 + n * n, width)`.
        target_grid: `(rows, columns)` of patches.
        antialias: see `bicubic_matrix`.

    Returns:
        float32 array `(1, 1 + rows * columns, width)`.
    """
    table = np.asarray(table)
    side = int(round((table.shape[1] - 1) ** 0.5))
    if side * side != table.shape[1] - 1:
        raise ValueError(
            f"resize_position_table: the table's {table.shape[1] - 1} patch positions are not a "
            "square grid."
        )
    rows, columns = (int(d) for d in target_grid)
    if (rows, columns) == (side, side):
        return table.astype(np.float32)
    grid = table[0, 1:].astype(np.float64).reshape(side, side, -1)
    resized = np.einsum(
        "is,stc,jt->ijc",
        bicubic_matrix(side, rows, antialias),
        grid,
        bicubic_matrix(side, columns, antialias),
    )
    patches = resized.reshape(1, rows * columns, -1)
    return np.concatenate([table[:, :1].astype(np.float64), patches], axis=1).astype(np.float32)


__all__ = ["bicubic_matrix", "resize_position_table"]
