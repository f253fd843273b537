"""`GatedFusion`: modality features scaled by learned sigmoid gates and summed."""

import keras
from keras import ops

from mmkeras.layers.fusion import _common
from mmkeras.layers.fusion.base_fusion import Fusion


@keras.saving.register_keras_serializable(package="mmkeras")
class GatedFusion(Fusion):
    """Fuses modality features with learned sigmoid gates.

    Each feature is projected to `units` with a `tanh`; a gate computed from all features (absent
    ones zeroed) and the presence mask scales each projection, unit by unit, before the
    projections of the present modalities are summed. This is the gated multimodal unit
    generalised to `M` modalities. Absent modalities contribute nothing; a sample with no
    modality present gives zeros.

    Args:
        units: int, size of the fused feature.
        dropout: float in [0, 1), dropout on the gates during training.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs, mask: the features and the presence mask, as for every `Fusion`.
        training: bool, whether the gate dropout is active.

    Returns:
        The fused feature `(batch, units)`: the gated sum of the present modalities.

    Example:
    >>> inputs = [np.random.rand(4, n).astype("float32") for n in (32, 16, 8)]  # three modalities
    >>> gated = mmkeras.layers.GatedFusion(units=12, dropout=0.1)
    >>> tuple(gated(inputs).shape)  # no mask: every modality present
    (4, 12)
    """

    config_arguments = ("units", "dropout")

    def __init__(self, units, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.units = _common.check_positive_int("GatedFusion", "units", units)
        self.dropout = _common.check_rate("GatedFusion", "dropout", dropout)
        self.projections = []
        self.gate = None
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)

    def build(self, input_shape):
        shapes = self.feature_shapes(input_shape)
        self.projections = _common.build_projections(self, shapes, self.units, "tanh")
        gate_width = sum(shape[-1] for shape in shapes) + len(shapes)
        self.gate = keras.layers.Dense(
            len(shapes) * self.units, activation="sigmoid", dtype=self.dtype_policy, name="gate"
        )
        self.gate.build((shapes[0][0], gate_width))

    def call(self, inputs, mask=None, training=None):
        features = list(inputs)
        num_modalities = len(features)
        present = self.presence(mask, features)
        cleaned = [
            _common.zero_absent(feature, present[:, index])
            for index, feature in enumerate(features)
        ]
        projected = ops.stack(
            [
                projection(feature)
                for projection, feature in zip(self.projections, cleaned, strict=True)
            ],
            axis=1,
        )
        gates = self.gate(ops.concatenate([*cleaned, present], axis=-1))
        gates = ops.reshape(gates, (-1, num_modalities, self.units))
        gates = self.dropout_layer(gates, training=training)
        gated = _common.zero_absent(gates * projected, present)
        return ops.sum(gated, axis=1)
