"""`ConcatFusion`: concatenation of modality features with absent ones zeroed."""

import keras
from keras import ops

from mmkeras.layers.fusion import _common


@keras.saving.register_keras_serializable(package="mmkeras")
class ConcatFusion(keras.layers.Layer):
    """Concatenates modality features, with absent modalities set to zero.

    Concatenation keeps a fixed layout, so an absent modality cannot be left out: its slot is
    filled with zeros, whatever values the input holds there (NaN included). With
    `append_mask=True` the presence mask is appended, so that the next layer can tell an absent
    modality from a present one whose feature happens to be zero.

    Args:
        append_mask: bool, append the `(batch, M)` presence mask to the output.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: list of `M` tensors `(batch, dim_i)`, one per modality.
        mask: optional `(batch, M)` bool or 0/1 float tensor, True where present.

    Returns:
        Tensor `(batch, sum(dim_i))`, or `(batch, sum(dim_i) + M)` with `append_mask=True`.

    Example:
    >>> fused = mmkeras.layers.ConcatFusion()([image_feat, text_feat], mask=present)
    """

    def __init__(self, append_mask=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(append_mask, bool):
            raise ValueError(
                f"ConcatFusion: `append_mask` must be a bool. Received: append_mask={append_mask!r}"
            )
        self.append_mask = append_mask

    def call(self, inputs, mask=None):
        features = list(inputs)
        if self.append_mask:
            present = _common.presence_or_ones("ConcatFusion", mask, features, features[0].dtype)
        else:
            present = _common.presence_mask("ConcatFusion", mask, features, features[0].dtype)
        columns = (
            [None] * len(features)
            if present is None
            else [present[:, index] for index in range(len(features))]
        )
        parts = [
            _common.zero_absent(feature, column)
            for feature, column in zip(features, columns, strict=True)
        ]
        if self.append_mask:
            parts.append(present)
        return ops.concatenate(parts, axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        shapes = _common.feature_shapes("ConcatFusion", input_shape, rank=2)
        width = sum(shape[-1] for shape in shapes)
        if self.append_mask:
            width += len(shapes)
        return (shapes[0][0], width)

    def get_config(self):
        return {**super().get_config(), "append_mask": self.append_mask}
