"""`Fusion`: the base class of the fusion layers, and `ModalityLayer`, the base of every layer
called on a list of per-modality features and a presence mask.

A fusion layer states only its own operation (`build`, `call`, `get_config`, and its output size
when that is not `units`); the base class owns what the family shares: checking the list of
inputs, reading the presence mask in every accepted form, `compute_mask`,
`compute_output_shape` / `compute_output_spec`, and class attributes that tell a model what the
layer consumes and returns.
"""

import keras

from mmkeras.layers.config_arguments import ConfigArgumentsMixin
from mmkeras.layers.fusion import _common


class ModalityLayer(ConfigArgumentsMixin, keras.layers.Layer):
    """Base class of the layers called as `layer(features, mask=present)`.

    `features` is a list of `M` tensors, one per modality, and `present` an optional
    `(batch, M)` presence mask (see `docs/conventions.md` for the forms it may take). The output
    carries no Keras mask: absent modalities are handled through `present`, not propagated.

    Class attributes:
        feature_rank: int or None, the rank every feature must have (None: any rank).
        min_modalities: int, the least number of features the layer accepts.
    """

    feature_rank = None
    min_modalities = 1

    def feature_shapes(self, input_shape):
        """Checks the shapes of the list of features and returns them as a list of tuples.

        Raises:
            ValueError: for a single input, too few inputs, or a feature of the wrong rank.
        """
        return _common.feature_shapes(
            type(self).__name__,
            input_shape,
            rank=self.feature_rank,
            min_modalities=self.min_modalities,
        )

    def presence(self, mask, features, dtype=None, fill=True):
        """Returns the presence mask as a float tensor `(batch, M)`, 1.0 where present.

        Args:
            mask: the `mask` call argument (None, a `(batch, M)` tensor, or a list of `M`
                per-modality tensors).
            features: the list of features.
            dtype: dtype of the result (default: the layer's compute dtype).
            fill: bool; when no mask is given, return all ones (True) or None (False).

        Raises:
            ValueError: for a mask whose shape does not match the features.
        """
        dtype = dtype or self.compute_dtype
        if fill:
            return _common.presence_or_ones(type(self).__name__, mask, features, dtype)
        return _common.presence_mask(type(self).__name__, mask, features, dtype)

    def compute_mask(self, inputs, mask=None):
        return None


class Fusion(ModalityLayer):
    """Base class of the fusion layers: a list of modality features in, one fused feature out.

    Subclasses implement `build`, `call(inputs, mask=None, ...)` and `get_config`, and
    `fused_size` when the fused feature is not `units` wide. The class attributes below say what
    a fusion consumes and returns; `mmkeras.models.MultimodalModel` reads them to wire the layer.

    Class attributes:
        consumes_sequences: bool, the layer takes sequences `(batch, steps_i, dim_i)` (and a
            `sequence_masks` call argument) instead of features `(batch, dim_i)`.
        returns_attention_scores: bool, the layer takes a `return_attention_scores` call
            argument and then returns `(fused, scores)`.
        min_modalities: int, the least number of modalities the layer accepts.

    Call arguments:
        inputs: list of `M` tensors, one per modality: `(batch, dim_i)`, or
            `(batch, steps_i, dim_i)` for a layer that consumes sequences.
        mask: optional `(batch, M)` bool or 0/1 float tensor, True where a modality is present.
            Absent modalities are left out of the result, not treated as zeros.

    Returns:
        Tensor `(batch, fused_size)`.
    """

    consumes_sequences = False
    returns_attention_scores = False

    @property
    def feature_rank(self):
        return 3 if self.consumes_sequences else 2

    def fused_size(self, shapes):
        """Returns the width of the fused feature for features of the given shapes."""
        return self.units

    def attention_scores_spec(self, shapes):
        """Returns the `KerasTensor` structure of the attention scores for the given shapes."""
        raise NotImplementedError(f"{type(self).__name__} returns no attention scores.")

    def compute_output_shape(self, input_shape):
        shapes = self.feature_shapes(input_shape)
        return (shapes[0][0], self.fused_size(shapes))

    def compute_output_spec(self, inputs, mask=None, return_attention_scores=False, **kwargs):
        shapes = [tuple(feature.shape) for feature in inputs]
        fused = keras.KerasTensor(self.compute_output_shape(shapes), dtype=self.compute_dtype)
        if return_attention_scores:
            return fused, self.attention_scores_spec(shapes)
        return fused
