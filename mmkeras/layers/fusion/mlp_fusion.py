"""`MLPFusion`: a multilayer perceptron over the concatenated modality features."""

import keras
from keras import ops

from mmkeras.layers.fusion import _common
from mmkeras.layers.fusion.base_fusion import Fusion


@keras.saving.register_keras_serializable(package="mmkeras")
class MLPFusion(Fusion):
    """Fuses modality features with an MLP over their concatenation and the presence mask.

    Absent modalities are zeroed and the `(batch, M)` presence mask is appended to the
    concatenation, so the MLP sees which modalities are missing instead of mistaking a
    missing one for a present one with a zero feature.

    Args:
        units: int, size of the fused feature (the last layer of the MLP).
        hidden_units: list of ints, sizes of the hidden layers before the last one (may be empty).
        activation: activation of every layer of the MLP, the last one included.
        dropout: float in [0, 1), dropout after each hidden layer during training.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs, mask: the features and the presence mask, as for every `Fusion`.
        training: bool, whether dropout after the hidden layers is active.

    Returns:
        The fused feature `(batch, units)`, the output of the MLP's last layer.

    Example:
    >>> image_feat = np.random.rand(2, 32).astype("float32")
    >>> text_feat = np.random.rand(2, 16).astype("float32")
    >>> present = np.array([[True, True], [True, False]])  # the second sample has no text
    >>> fusion = mmkeras.layers.MLPFusion(units=64, hidden_units=[128], dropout=0.1)
    >>> fused = fusion([image_feat, text_feat], mask=present)
    >>> print(fused.shape)
    (2, 64)
    """

    config_arguments = ("units", "activation", "dropout")

    def __init__(self, units, hidden_units=(), activation="relu", dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.units = _common.check_positive_int("MLPFusion", "units", units)
        if not isinstance(hidden_units, (list, tuple)):
            raise ValueError(
                "MLPFusion: `hidden_units` must be a list of positive ints. "
                f"Received: hidden_units={hidden_units!r}"
            )
        for size in hidden_units:
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ValueError(
                    "MLPFusion: `hidden_units` must be a list of positive ints. "
                    f"Received: hidden_units={hidden_units!r}"
                )
        self.activation = _common.check_activation("MLPFusion", "activation", activation)
        self.dropout = _common.check_rate("MLPFusion", "dropout", dropout)
        self.hidden_units = list(hidden_units)
        self.dense_layers = []
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)

    def build(self, input_shape):
        shapes = self.feature_shapes(input_shape)
        width = sum(shape[-1] for shape in shapes) + len(shapes)
        self.dense_layers = []
        for index, size in enumerate([*self.hidden_units, self.units]):
            dense = keras.layers.Dense(
                size, activation=self.activation, dtype=self.dtype_policy, name=f"dense_{index}"
            )
            dense.build((shapes[0][0], width))
            self.dense_layers.append(dense)
            width = size

    def call(self, inputs, mask=None, training=None):
        features = list(inputs)
        present = self.presence(mask, features)
        parts = [
            _common.zero_absent(feature, present[:, index])
            for index, feature in enumerate(features)
        ]
        hidden = ops.concatenate([*parts, present], axis=-1)
        for dense in self.dense_layers[:-1]:
            hidden = self.dropout_layer(dense(hidden), training=training)
        return self.dense_layers[-1](hidden)

    def get_config(self):
        return {**super().get_config(), "hidden_units": list(self.hidden_units)}
