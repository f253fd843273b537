"""`ProductFusion`: element-wise product of projected modality features."""

import keras
from keras import ops

from mmkeras.layers.fusion import _common
from mmkeras.layers.fusion.base_fusion import Fusion


@keras.saving.register_keras_serializable(package="mmkeras")
class ProductFusion(Fusion):
    """Multiplies the modality features element-wise after projecting them to a common size.

    Each modality is projected to `units` by its own `Dense` layer; the fused feature is the
    element-wise product of the projections of the present modalities (an absent modality
    contributes the neutral factor 1, so it is left out rather than zeroing the product). A
    sample with no modality present gives zeros, the same "no information" output as the other
    fusion layers.

    Args:
        units: int, size of the projections and of the fused feature.
        activation: activation of the projections; `"tanh"` (default) keeps the factors in
            (-1, 1) so that products of several modalities stay well scaled.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs, mask: the features and the presence mask, as for every `Fusion`.

    Returns:
        Tensor `(batch, units)`.

    Example:
    >>> image_feat = np.random.rand(2, 32).astype("float32")
    >>> text_feat = np.random.rand(2, 16).astype("float32")
    >>> present = np.array([[True, True], [True, False]])  # the second sample has no text
    >>> fused = mmkeras.layers.ProductFusion(units=64)([image_feat, text_feat], mask=present)
    >>> print(fused.shape)
    (2, 64)
    """

    config_arguments = ("units", "activation")

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(**kwargs)
        self.units = _common.check_positive_int("ProductFusion", "units", units)
        self.activation = _common.check_activation("ProductFusion", "activation", activation)
        self.projections = []

    def build(self, input_shape):
        shapes = self.feature_shapes(input_shape)
        self.projections = _common.build_projections(self, shapes, self.units, self.activation)

    def call(self, inputs, mask=None):
        features = list(inputs)
        present = self.presence(mask, features)
        fused = None
        for index, feature in enumerate(features):
            column = present[:, index]
            projected = self.projections[index](_common.zero_absent(feature, column))
            is_present = ops.expand_dims(ops.greater(column, 0), axis=-1)
            factor = ops.where(is_present, projected, ops.ones_like(projected))
            fused = factor if fused is None else fused * factor
        any_present = ops.greater(ops.sum(present, axis=-1, keepdims=True), 0)
        return ops.where(any_present, fused, ops.zeros_like(fused))
