"""`ConcatFusion`: concatenation of modality features with absent ones zeroed."""

import keras
from keras import ops

from mmkeras.layers.fusion import _common
from mmkeras.layers.fusion.base_fusion import Fusion


@keras.saving.register_keras_serializable(package="mmkeras")
class ConcatFusion(Fusion):
    """Concatenates modality features, with absent modalities set to zero.

    Concatenation keeps a fixed layout, so an absent modality cannot be left out: its slot is
    filled with zeros, whatever values the input holds there (NaN included). With
    `append_mask=True` the presence mask is appended, so that the next layer can tell an absent
    modality from a present one whose feature happens to be zero.

    Args:
        append_mask: bool, append the `(batch, M)` presence mask to the output.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs, mask: the features and the presence mask, as for every `Fusion`.

    Returns:
        Tensor `(batch, sum(dim_i))`, or `(batch, sum(dim_i) + M)` with `append_mask=True`.

    Example:
    >>> image_feat = np.random.rand(2, 32).astype("float32")
    >>> text_feat = np.random.rand(2, 16).astype("float32")
    >>> present = np.array([[True, True], [True, False]])  # the second sample has no text
    >>> fused = mmkeras.layers.ConcatFusion()([image_feat, text_feat], mask=present)
    >>> print(fused.shape)
    (2, 48)
    """

    config_arguments = ("append_mask",)

    def __init__(self, append_mask=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(append_mask, bool):
            raise ValueError(
                f"ConcatFusion: `append_mask` must be a bool. Received: append_mask={append_mask!r}"
            )
        self.append_mask = append_mask

    def call(self, inputs, mask=None):
        features = list(inputs)
        # Without `append_mask` and without a mask, nothing needs zeroing: skip the mask entirely.
        present = self.presence(mask, features, features[0].dtype, fill=self.append_mask)
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

    def fused_size(self, shapes):
        width = sum(shape[-1] for shape in shapes)
        return width + len(shapes) if self.append_mask else width
