"""`SumFusion`: sum or mean of the present modalities' features."""

import keras
from keras import ops

from mmkeras.layers.fusion import _common
from mmkeras.layers.fusion.base_fusion import Fusion


@keras.saving.register_keras_serializable(package="mmkeras")
class SumFusion(Fusion):
    """Adds (or averages) the features of the present modalities.

    With `units` set, each modality is first projected to `units` by its own `Dense` layer, so
    features of different sizes can be added. Without it, all features must have the same size.
    Absent modalities are left out: with `reduction="mean"` the average is taken over the present
    modalities only, not over all `M` with zeros in the absent slots. A sample with no modality
    present gives zeros.

    Args:
        units: int or None, size of the per-modality projection; None adds the features as they are.
        reduction: `"mean"` (default) or `"sum"`.
        activation: activation of the projections (only used with `units`), e.g. `"relu"`.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs, mask: the features and the presence mask, as for every `Fusion`.

    Returns:
        Tensor `(batch, units)` (or `(batch, dim)` without `units`).

    Example:
    Without `units` the features must already share a size; the mean is over the present ones:
    >>> a = np.ones((2, 4), "float32")
    >>> b = np.full((2, 4), 3.0, "float32")
    >>> present = np.array([[True, True], [True, False]])  # the second sample has no `b`
    >>> fused = mmkeras.layers.SumFusion()([a, b], mask=present)
    >>> np.asarray(fused)[:, 0].tolist()
    [2.0, 1.0]
    """

    config_arguments = ("units", "reduction", "activation")

    def __init__(self, units=None, reduction="mean", activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = _common.check_positive_int("SumFusion", "units", units, allow_none=True)
        self.reduction = _common.check_choice("SumFusion", "reduction", reduction, {"mean", "sum"})
        self.activation = _common.check_activation("SumFusion", "activation", activation)
        self.projections = []

    def build(self, input_shape):
        shapes = self.feature_shapes(input_shape)
        if self.units is None:
            sizes = sorted({shape[-1] for shape in shapes})
            if len(sizes) > 1:
                raise ValueError(
                    "SumFusion without `units` needs features of one size; set `units` to project "
                    f"them first. Received feature sizes {[shape[-1] for shape in shapes]}"
                )
        else:
            self.projections = _common.build_projections(self, shapes, self.units, self.activation)

    def call(self, inputs, mask=None):
        features = list(inputs)
        present = self.presence(mask, features)
        projected = []
        for index, feature in enumerate(features):
            feature = _common.zero_absent(feature, present[:, index])
            if self.projections:
                feature = self.projections[index](feature)
            projected.append(feature)
        stacked = ops.stack(projected, axis=1)
        if self.reduction == "mean":
            return _common.masked_mean(stacked, present, axis=1)
        stacked = _common.zero_absent(stacked, present)
        return ops.sum(stacked, axis=1)

    def fused_size(self, shapes):
        return self.units if self.units is not None else shapes[0][-1]
