"""A small convolutional image encoder."""

import keras

from mmkeras.argument_checks import (
    check_choice,
    check_positive_int,
    check_positive_ints,
    check_rate,
)
from mmkeras.branches._common import (
    branch_outputs,
    check_input_shape,
    conv_bn_activation,
    dense_head,
    downsample,
)
from mmkeras.branches.freezing import record_blocks

POOLINGS = ("flatten", "avg", "max", "attention")


def image_cnn(
    input_shape=(64, 64, 3),
    filters=(32, 64, 128),
    output_dim=128,
    kernel_size=3,
    convs_per_block=1,
    dropout=0.1,
    activation="relu",
    return_sequence=False,
    name="image_cnn",
    pooling="flatten",
    attention_heads=4,
    bn_momentum=0.99,
):
    """Builds a convolutional image branch trained from scratch.

    Pixels (0..255) are rescaled to 0..1, then each entry of `filters` adds one block:
    `convs_per_block` x (Conv2D -> BatchNormalization -> activation), 2x2 max pooling and
    spatial dropout. The last feature map is pooled (see `pooling`) and projected to
    `output_dim`.

    Pooling decides what survives of *where* things are. Global pooling keeps what was seen,
    anywhere; flattening keeps every position of the map. On AV-Digits (32x32 digits, last map
    4x4x64) image-only test accuracy over two seeds was 88.5% flattened against 50.4%
    average-pooled, 81.5% max-pooled and 80.9% attention-pooled (`benchmarks/branch_choices.py`;
    docs/demo.md, "Branch defaults, measured"), so `"flatten"` is the default. Its projection
    has `(height / 2**blocks) * (width / 2**blocks) * filters[-1] * output_dim` weights, which
    grows with the image: for large images add blocks, or use `"attention"` (a few thousand
    weights, keeps part of the position) or `"max"`.

    Args:
        input_shape: `(height, width, channels)`; height and width may be None.
        filters: tuple of ints, number of filters of each block.
        output_dim: int, size of the output feature.
        kernel_size: int, size of the square convolution kernels.
        convs_per_block: int, number of convolutions before each pooling.
        dropout: float in [0, 1), dropout after each block and before the projection.
        activation: activation of the convolutions and of the output feature.
        return_sequence: bool, also return the last feature map as a sequence of regions.
        name: name of the returned model.
        pooling: how the last feature map becomes one vector: `"flatten"` (every position and
            channel, row by row), `"attention"` (`mmkeras.layers.SpatialAttentionPooling`:
            `attention_heads` heads with learned position scores and embeddings), `"avg"` or
            `"max"` (global average / max over positions). `"flatten"` needs a known height
            and width and raises `ValueError` otherwise (pass `pooling="max"` or
            `"attention"` for variable-size images); `"attention"` with an unknown height or
            width scores by content only, without position weights.
        attention_heads: int, number of heads of `pooling="attention"` (each returns
            `filters[-1]` values); ignored by the other poolings.
        bn_momentum: float in [0, 1), momentum of the batch normalisations' moving mean and
            variance (the statistics inference uses). With few steps per epoch, 0.9 lets them
            follow the training weights within an epoch; at 0.99 they lag by about a hundred
            steps, and a model that already fits its training rows can predict one class on
            validation rows for several epochs.

    Returns:
        A functional `keras.Model` taking float32 images `(batch, height, width, channels)` on
        the 0..255 scale. It returns the feature `(batch, output_dim)`, or with
        `return_sequence=True` a dict: `"feature"`, `"sequence"` `(batch, regions,
        filters[-1])` (the last feature map flattened row by row) and `"sequence_mask"`
        `(batch, regions)`, all True.

    Example:
    >>> branch = image_cnn(input_shape=(32, 32, 3), filters=(16, 32), output_dim=64)
    >>> print(branch(np.zeros((2, 32, 32, 3), "float32")).shape)
    (2, 64)
    """
    builder = "image_cnn"
    input_shape = check_input_shape(input_shape, 3, builder)
    if input_shape[-1] is None:
        raise ValueError(
            f"{builder}: the channel axis of `input_shape` must be known; received "
            f"input_shape={input_shape!r}."
        )
    filters = check_positive_ints("filters", filters, builder)
    check_positive_int("output_dim", output_dim, builder)
    check_positive_int("kernel_size", kernel_size, builder)
    check_positive_int("convs_per_block", convs_per_block, builder)
    check_rate("dropout", dropout, builder)
    check_choice("pooling", pooling, POOLINGS, builder)
    check_positive_int("attention_heads", attention_heads, builder)
    check_rate("bn_momentum", bn_momentum, builder)
    spatial_known = input_shape[0] is not None and input_shape[1] is not None
    if pooling == "flatten" and not spatial_known:
        raise ValueError(
            f"{builder}: pooling='flatten' (the default) needs a known image height and width, "
            f"as the flattened size fixes the projection's weights; received "
            f"input_shape={input_shape!r}. Give a fixed size, or pass pooling='max', "
            "'attention' or 'avg' for variable-size images."
        )

    images = keras.Input(shape=input_shape, dtype="float32", name="image")
    x = keras.layers.Rescaling(1.0 / 255.0, name="rescale")(images)
    for block, block_filters in enumerate(filters):
        for conv in range(convs_per_block):
            prefix = f"block{block}_conv{conv}"
            x = conv_bn_activation(
                x, block_filters, kernel_size, activation, prefix, bn_momentum=bn_momentum
            )
        # "same" pooling keeps at least one pixel, so small images take any number of blocks.
        x = downsample(x, dropout, f"block{block}")
    pooled = _pool(x, pooling, attention_heads, spatial_known)
    feature = dense_head(pooled, output_dim, activation, dropout)
    sequence = keras.layers.Reshape((-1, filters[-1]), name="sequence")(x)
    outputs = branch_outputs(feature, sequence, None, return_sequence)
    return record_blocks(keras.Model(images, outputs, name=name))


def _pool(feature_map, pooling, attention_heads, spatial_known):
    """The pooling layer named "pool" of the last feature map."""
    if pooling == "flatten":
        layer = keras.layers.Flatten(name="pool")
    elif pooling == "avg":
        layer = keras.layers.GlobalAveragePooling2D(name="pool")
    elif pooling == "max":
        layer = keras.layers.GlobalMaxPooling2D(name="pool")
    else:
        from mmkeras.layers.modeling import SpatialAttentionPooling

        layer = SpatialAttentionPooling(
            num_heads=attention_heads, positional=spatial_known, name="pool"
        )
    return layer(feature_map)
