"""`AttentionFusion`: a weighted sum of modality features with learned attention weights."""

import keras
from keras import ops

from mmkeras.layers.fusion import _common
from mmkeras.layers.fusion.base_fusion import Fusion


@keras.saving.register_keras_serializable(package="mmkeras")
class AttentionFusion(Fusion):
    """Fuses modality features with learned attention weights over the modalities.

    Each modality `i` is projected to `units` (`h_i`); a small scoring network shared by all
    modalities gives a score `s_i = v . tanh(W h_i + b)`. The weights are a softmax of the scores
    taken over the present modalities only, and the fused feature is `sum_i w_i h_i`. Absent
    modalities get weight exactly 0; a sample with no modality present gets all-zero weights
    and a zero output.

    Args:
        units: int, size of the projections and of the fused feature.
        attention_units: int or None, hidden size of the scoring network (default: `units`).
        activation: activation of the projections (default None: linear).
        dropout: float in [0, 1), dropout on the fused feature during training.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs, mask: the features and the presence mask, as for every `Fusion`.
        return_attention_scores: bool, also return the attention weights.
        training: bool, whether dropout is active.

    Returns:
        Tensor `(batch, units)`, or the tuple `(fused, weights)` with `weights` of shape
        `(batch, M)` when `return_attention_scores=True`.

    Example:
    >>> image_feat = np.random.rand(2, 32).astype("float32")
    >>> text_feat = np.random.rand(2, 16).astype("float32")
    >>> present = np.array([[True, True], [True, False]])  # the second sample has no text
    >>> fusion = mmkeras.layers.AttentionFusion(units=64)
    >>> fused, weights = fusion([image_feat, text_feat], mask=present, return_attention_scores=True)
    >>> print(fused.shape, weights.shape)
    (2, 64) (2, 2)
    >>> np.round(keras.ops.convert_to_numpy(weights)[1], 2)  # an absent modality gets weight 0
    array([1., 0.], dtype=float32)
    """

    config_arguments = ("units", "attention_units", "activation", "dropout")

    returns_attention_scores = True

    def __init__(self, units, attention_units=None, activation=None, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.units = _common.check_positive_int("AttentionFusion", "units", units)
        self.attention_units = _common.check_positive_int(
            "AttentionFusion", "attention_units", attention_units, allow_none=True
        )
        self.activation = _common.check_activation("AttentionFusion", "activation", activation)
        self.dropout = _common.check_rate("AttentionFusion", "dropout", dropout)
        self.projections = []
        self.score_hidden = None
        self.score_output = None
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)

    def build(self, input_shape):
        shapes = self.feature_shapes(input_shape)
        self.projections = _common.build_projections(self, shapes, self.units, self.activation)
        hidden = self.attention_units or self.units
        self.score_hidden = keras.layers.Dense(
            hidden, activation="tanh", dtype=self.dtype_policy, name="score_hidden"
        )
        self.score_hidden.build((shapes[0][0], len(shapes), self.units))
        self.score_output = keras.layers.Dense(
            1, use_bias=False, dtype=self.dtype_policy, name="score_output"
        )
        self.score_output.build((shapes[0][0], len(shapes), hidden))

    def call(self, inputs, mask=None, return_attention_scores=False, training=None):
        features = list(inputs)
        present = self.presence(mask, features)
        projected = ops.stack(
            [
                projection(_common.zero_absent(feature, present[:, index]))
                for index, (projection, feature) in enumerate(
                    zip(self.projections, features, strict=True)
                )
            ],
            axis=1,
        )
        scores = ops.squeeze(self.score_output(self.score_hidden(projected)), axis=-1)
        weights = _common.masked_softmax(scores, ops.greater(present, 0), axis=-1)
        fused = ops.sum(projected * ops.expand_dims(weights, axis=-1), axis=1)
        fused = self.dropout_layer(fused, training=training)
        if return_attention_scores:
            return fused, weights
        return fused

    def attention_scores_spec(self, shapes):
        return keras.KerasTensor((shapes[0][0], len(shapes)), dtype=self.compute_dtype)
