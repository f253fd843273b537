"""`TensorFusion`: the outer product of modality features, as in Tensor Fusion Networks."""

import math

import keras
from keras import ops

from mmkeras.layers.fusion import _common
from mmkeras.layers.fusion.base_fusion import Fusion

# Beyond this many entries the outer product stops being a sensible layer input; LowRankFusion
# computes the same kind of interactions without materialising it.
_MAX_FUSED_SIZE = 2**20


@keras.saving.register_keras_serializable(package="mmkeras")
class TensorFusion(Fusion):
    """Fuses modalities through the outer product of their features (Tensor Fusion Networks).

    Each modality is projected to `input_units` (`h_i`) and extended with a constant 1,
    `z_i = [h_i, 1]`; the outer product `z_1 x z_2 x ... x z_M` holds every unimodal, bimodal,
    ..., M-modal interaction, and is flattened and projected to `units`. An absent modality uses
    `z_i = [0, ..., 0, 1]`, so only the interactions among the present modalities remain. The
    outer product has `prod(input_units + 1)` entries: keep `input_units` small, or use
    `LowRankFusion` for many modalities.

    Args:
        units: int, size of the fused feature.
        input_units: int or None, size each modality is projected to before the outer product;
            None uses the features as they are.
        activation: activation of the input projections (default `"relu"`).
        output_activation: activation of the final projection (default None: linear).
        dropout: float in [0, 1), dropout on the flattened outer product during training.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs, mask: the features and the presence mask, as for every `Fusion`.
        training: bool, whether dropout on the outer product is active.

    Returns:
        The fused feature `(batch, units)`, a projection of the outer product.

    Example:
    >>> image_feat = np.random.rand(2, 32).astype("float32")
    >>> text_feat = np.random.rand(2, 16).astype("float32")
    >>> audio_feat = np.random.rand(2, 24).astype("float32")
    >>> present = np.array([[True, True, True], [True, False, True]])  # sample 2 has no text
    >>> fusion = mmkeras.layers.TensorFusion(units=64, input_units=8)
    >>> fused = fusion([image_feat, text_feat, audio_feat], mask=present)
    >>> print(fused.shape)
    (2, 64)
    """

    config_arguments = ("units", "input_units", "activation", "output_activation", "dropout")

    def __init__(
        self, units, input_units=8, activation="relu", output_activation=None, dropout=0.0, **kwargs
    ):
        super().__init__(**kwargs)
        self.units = _common.check_positive_int("TensorFusion", "units", units)
        self.input_units = _common.check_positive_int(
            "TensorFusion", "input_units", input_units, allow_none=True
        )
        self.activation = _common.check_activation("TensorFusion", "activation", activation)
        self.output_activation = _common.check_activation(
            "TensorFusion", "output_activation", output_activation
        )
        self.dropout = _common.check_rate("TensorFusion", "dropout", dropout)
        self.projections = []
        self.output_projection = None
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)

    def build(self, input_shape):
        shapes = self.feature_shapes(input_shape)
        sizes = [self.input_units or shape[-1] for shape in shapes]
        fused_size = math.prod(size + 1 for size in sizes)
        if fused_size > _MAX_FUSED_SIZE:
            raise ValueError(
                f"TensorFusion: the outer product of {len(shapes)} modalities of sizes {sizes} (plus "
                f"one each) has {fused_size} entries, more than the {_MAX_FUSED_SIZE} allowed. Set a "
                f"smaller `input_units` (received input_units={self.input_units!r}) or use LowRankFusion."
            )
        self.projections = []
        if self.input_units is not None:
            self.projections = _common.build_projections(
                self, shapes, self.input_units, self.activation
            )
        self.output_projection = keras.layers.Dense(
            self.units,
            activation=self.output_activation,
            dtype=self.dtype_policy,
            name="output_projection",
        )
        self.output_projection.build((shapes[0][0], fused_size))

    def call(self, inputs, mask=None, training=None):
        features = list(inputs)
        present = self.presence(mask, features)
        product = None
        for index, feature in enumerate(features):
            column = present[:, index]
            feature = _common.zero_absent(feature, column)
            if self.projections:
                feature = self.projections[index](feature)
            # Zeroed after the projection as well, since its bias would otherwise survive.
            feature = _common.zero_absent(feature, column)
            extended = ops.concatenate([feature, ops.ones_like(feature[:, :1])], axis=-1)
            if product is None:
                product = extended
            else:
                outer = ops.expand_dims(product, axis=-1) * ops.expand_dims(extended, axis=1)
                product = ops.reshape(outer, (-1, outer.shape[1] * outer.shape[2]))
        product = self.dropout_layer(product, training=training)
        return self.output_projection(product)
