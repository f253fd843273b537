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
    An absent modality is a factor of 1, and with none present the output is zeros:
    >>> audio = np.random.rand(3, 8).astype("float32")
    >>> tabular = np.random.rand(3, 5).astype("float32")
    >>> fusion = mmkeras.layers.ProductFusion(units=6)
    >>> fused = fusion([audio, tabular], mask=np.array([[1, 1], [1, 0], [0, 0]], "float32"))
    >>> tuple(fused.shape), float(np.abs(np.asarray(fused)[2]).max())
    ((3, 6), 0.0)
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
