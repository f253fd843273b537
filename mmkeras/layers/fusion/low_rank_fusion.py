"""`LowRankFusion`: tensor fusion computed through a rank-`r` factorisation of its weights."""

import keras
from keras import ops

from mmkeras.layers.fusion import _common
from mmkeras.layers.fusion.base_fusion import Fusion


@keras.saving.register_keras_serializable(package="mmkeras")
class LowRankFusion(Fusion):
    """Low-rank multimodal fusion: tensor fusion with a rank-`rank` factorised weight tensor.

    Tensor fusion projects the outer product `z_1 x ... x z_M` (with `z_i = [x_i, 1]`) by a weight
    tensor `W`. Writing `W` as a sum of `rank` outer products of per-modality factors `W_i^(r)`
    gives the same kind of output without building the outer product:
    `fused = sum_r prod_i (z_i W_i^(r)) + b`, linear in the number of modalities. An absent
    modality uses `z_i = [0, ..., 0, 1]`, exactly as in `TensorFusion`, so only interactions among
    the present modalities remain.

    Args:
        units: int, size of the fused feature.
        rank: int, rank of the factorisation.
        activation: activation of the fused feature (default None: linear).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs, mask: the features and the presence mask, as for every `Fusion`.

    Returns:
        Tensor `(batch, units)`.

    Example:
    The factors grow with `rank`, not with the product of the feature sizes:
    >>> video, speech = np.zeros((2, 128), "float32"), np.zeros((2, 64), "float32")
    >>> fusion = mmkeras.layers.LowRankFusion(units=32, rank=4)
    >>> tuple(fusion([video, speech]).shape)
    (2, 32)
    """

    config_arguments = ("units", "rank", "activation")

    def __init__(self, units, rank=4, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = _common.check_positive_int("LowRankFusion", "units", units)
        self.rank = _common.check_positive_int("LowRankFusion", "rank", rank)
        self.activation = _common.check_activation("LowRankFusion", "activation", activation)
        self._activation_fn = keras.activations.get(activation)
        self.factors = []

    def build(self, input_shape):
        shapes = self.feature_shapes(input_shape)
        self.factors = [
            self.add_weight(
                name=f"factor_{index}",
                shape=(self.rank, shape[-1] + 1, self.units),
                initializer="glorot_uniform",
            )
            for index, shape in enumerate(shapes)
        ]
        self.rank_weights = self.add_weight(
            name="rank_weights", shape=(self.rank,), initializer="glorot_uniform"
        )
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def call(self, inputs, mask=None):
        features = list(inputs)
        present = self.presence(mask, features)
        product = None
        for index, feature in enumerate(features):
            feature = _common.zero_absent(feature, present[:, index])
            extended = ops.concatenate([feature, ops.ones_like(feature[:, :1])], axis=-1)
            factor = ops.cast(self.factors[index], self.compute_dtype)
            # (batch, dim + 1) . (rank, dim + 1, units) -> (batch, rank, units)
            projected = ops.einsum("bd,rdu->bru", extended, factor)
            product = projected if product is None else product * projected
        rank_weights = ops.cast(self.rank_weights, self.compute_dtype)
        fused = ops.einsum("bru,r->bu", product, rank_weights) + ops.cast(
            self.bias, self.compute_dtype
        )
        return self._activation_fn(fused)
