"""`ModalityDropout`: drops whole modalities at random during training."""

import keras
from keras import ops

from mmkeras.layers.fusion import _common
from mmkeras.layers.fusion.base_fusion import ModalityLayer


@keras.saving.register_keras_serializable(package="mmkeras")
class ModalityDropout(ModalityLayer):
    """Drops whole modalities at random during training by editing the presence mask.

    The layer returns a new presence mask; give it to a fusion layer as its `mask`, so a model
    learns to cope with missing inputs. During training each present modality of each sample
    is dropped with probability `rate` (or `rate[m]` for modality `m`). A sample never loses
    all of its modalities: when every present modality would be dropped, one of them, chosen
    at random, is kept. Modalities already absent stay absent. At inference the mask is
    returned unchanged (all ones when none is given).

    Args:
        rate: float in [0, 1], or a list with one such float per modality: the probability of
            dropping a present modality. `rate=1` keeps exactly one present modality per sample.
        seed: int or None, seed of the random generator.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: list of `M` feature tensors `(batch, ...)`, one per modality (only their number
            and the batch size are used).
        mask: optional `(batch, M)` bool or 0/1 float presence mask, True where present.
        training: bool, whether to drop modalities.

    Returns:
        float32 tensor `(batch, M)`: 1.0 where the modality is present and kept, 0.0 elsewhere.

    Example:
    >>> features = [image_feat, text_feat, audio_feat]
    >>> kept = mmkeras.layers.ModalityDropout(rate=0.3)(features, mask=present)
    >>> fused = mmkeras.layers.AttentionFusion(units=64)(features, mask=kept)
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        rates = list(rate) if isinstance(rate, (list, tuple)) else [rate]
        if not rates:
            raise ValueError("ModalityDropout: `rate` must not be an empty list. Received: rate=[]")
        for value in rates:
            _common.check_rate("ModalityDropout", "rate", value, allow_one=True)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(
                f"ModalityDropout: `seed` must be None or an int. Received: seed={seed!r}"
            )
        self.rate = list(rate) if isinstance(rate, (list, tuple)) else rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _rates(self, num_modalities):
        if not isinstance(self.rate, list):
            return [float(self.rate)] * num_modalities
        if len(self.rate) != num_modalities:
            raise ValueError(
                f"ModalityDropout: `rate` has {len(self.rate)} entries but the layer received "
                f"{num_modalities} modalities. Received: rate={self.rate}"
            )
        return [float(value) for value in self.rate]

    def call(self, inputs, mask=None, training=None):
        features = list(inputs)
        num_modalities = len(features)
        rates = self._rates(num_modalities)
        present = self.presence(mask, features, "float32")
        if not training:
            return present
        shape = ops.shape(present)
        draws = keras.random.uniform(shape, seed=self.seed_generator)
        kept = present * ops.cast(ops.greater_equal(draws, ops.convert_to_tensor(rates)), "float32")
        # Rescue samples that would lose every present modality: keep one present modality at random.
        choice_draws = keras.random.uniform(shape, seed=self.seed_generator)
        choice = ops.argmax(
            ops.where(present > 0, choice_draws, -ops.ones_like(choice_draws)), axis=-1
        )
        rescue = ops.one_hot(choice, num_modalities, dtype="float32")
        needs_rescue = ops.logical_and(
            ops.sum(kept, axis=-1, keepdims=True) == 0, ops.sum(present, axis=-1, keepdims=True) > 0
        )
        return ops.where(needs_rescue, rescue, kept)

    def compute_output_shape(self, input_shape):
        shapes = self.feature_shapes(input_shape)
        return (shapes[0][0], len(shapes))

    def compute_output_spec(self, inputs, mask=None, training=None):
        shapes = [tuple(feature.shape) for feature in inputs]
        return keras.KerasTensor(self.compute_output_shape(shapes), dtype="float32")

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
