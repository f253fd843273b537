"""`CrossModalAttention`: each modality's sequence attends to the other modalities' sequences."""

import math

import keras
from keras import ops

from mmkeras.layers.fusion import _common
from mmkeras.layers.fusion.base_fusion import Fusion


@keras.saving.register_keras_serializable(package="mmkeras")
class CrossModalAttention(Fusion):
    """Multi-head cross-modal attention over sequences, pooled into one fused feature.

    Every sequence is projected to `units`. A *query modality* `i` attends, with multi-head
    scaled dot-product attention, to the positions of all the other modalities' sequences
    concatenated in modality order; the attention output is added to its own projection and
    layer-normalised, then averaged over its real (non-padding) positions. The fused feature
    is the mean of these pooled vectors over the present query modalities.

    By default every modality is a query modality. With `query=k`, modality `k` alone is the
    query and the others only provide keys and values: for visual question answering,
    `query=0` with inputs `[question_tokens, image_regions]` makes the question attend over the
    image regions.

    Padding positions (from `sequence_masks`) and absent modalities (from `mask`) never
    influence the output: they receive attention weight exactly 0 and are left out of the
    pooling. A query whose keys are all masked gets no attention output (only its own
    projection remains); a sample with no usable query gives a zero output.

    Args:
        units: int, size of the projections and of the fused feature; divisible by `num_heads`.
        num_heads: int, number of attention heads.
        query: int or None, index of the only query modality; None makes every modality a query.
        dropout: float in [0, 1), dropout on the attention weights during training.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: list of `M >= 2` tensors `(batch, steps_i, dim_i)`, one per modality.
        mask: optional `(batch, M)` bool or 0/1 float presence mask, True where present.
        sequence_masks: optional list of `M` entries, each None or a `(batch, steps_i)` bool
            tensor that is True at real positions and False at padding. When it is not given
            and `mask` arrives as a list (Keras fills `mask` with the inputs' own Keras masks,
            for instance from an `Embedding(mask_zero=True)`), those masks are used instead.
        return_attention_scores: bool, also return the attention weights.
        training: bool, whether dropout is active.

    Returns:
        Tensor `(batch, units)`; with `return_attention_scores=True`, the tuple
        `(fused, scores)`. `scores` has shape `(batch, num_heads, steps_q, sum of the other
        steps)` when `query` is set, and is a list of `M` such tensors (one per query modality)
        otherwise.

    Example:
    >>> question_seq = np.random.rand(2, 6, 32).astype("float32")  # 6 word vectors
    >>> question_mask = np.array([[True] * 6, [True] * 4 + [False] * 2])  # the second is shorter
    >>> region_seq = np.random.rand(2, 16, 48).astype("float32")  # a 4x4 grid of image regions
    >>> attend = mmkeras.layers.CrossModalAttention(units=64, num_heads=4, query=0)
    >>> fused = attend([question_seq, region_seq], sequence_masks=[question_mask, None])
    >>> print(fused.shape)
    (2, 64)
    """

    config_arguments = ("units", "num_heads", "query", "dropout")

    consumes_sequences = True
    returns_attention_scores = True
    min_modalities = 2

    def __init__(self, units, num_heads=4, query=None, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.units = _common.check_positive_int("CrossModalAttention", "units", units)
        self.num_heads = _common.check_positive_int("CrossModalAttention", "num_heads", num_heads)
        if units % num_heads:
            raise ValueError(
                "CrossModalAttention: `units` must be divisible by `num_heads`. "
                f"Received: units={units}, num_heads={num_heads}"
            )
        if query is not None and (
            isinstance(query, bool) or not isinstance(query, int) or query < 0
        ):
            raise ValueError(
                "CrossModalAttention: `query` must be None or the index (int >= 0) of a modality. "
                f"Received: query={query!r}"
            )
        self.dropout = _common.check_rate("CrossModalAttention", "dropout", dropout)
        self.query = query
        self.input_projections = []
        self.query_dense = []
        self.key_dense = []
        self.value_dense = []
        self.output_dense = []
        self.norms = []
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)

    def _query_indices(self, num_modalities):
        if self.query is None:
            return list(range(num_modalities))
        return [self.query]

    def build(self, input_shape):
        shapes = self.feature_shapes(input_shape)
        if self.query is not None and self.query >= len(shapes):
            raise ValueError(
                f"CrossModalAttention: `query` must index one of the {len(shapes)} inputs. "
                f"Received: query={self.query}"
            )
        head_size = self.units // self.num_heads
        projected_shape = (None, None, self.units)
        self.input_projections = _common.build_projections(
            self, shapes, self.units, prefix="input_projection"
        )
        self.query_dense, self.key_dense, self.value_dense = [], [], []
        self.output_dense, self.norms = [], []
        for index in self._query_indices(len(shapes)):
            for kind, collection in (
                ("query", self.query_dense),
                ("key", self.key_dense),
                ("value", self.value_dense),
            ):
                dense = keras.layers.EinsumDense(
                    "btd,dhk->bthk",
                    output_shape=(None, self.num_heads, head_size),
                    bias_axes="hk",
                    dtype=self.dtype_policy,
                    name=f"{kind}_{index}",
                )
                dense.build(projected_shape)
                collection.append(dense)
            output = keras.layers.EinsumDense(
                "bthk,hkd->btd",
                output_shape=(None, self.units),
                bias_axes="d",
                dtype=self.dtype_policy,
                name=f"attention_output_{index}",
            )
            output.build((None, None, self.num_heads, head_size))
            self.output_dense.append(output)
            norm = keras.layers.LayerNormalization(dtype=self.dtype_policy, name=f"norm_{index}")
            norm.build(projected_shape)
            self.norms.append(norm)

    def _sequence_validity(self, features, mask, sequence_masks):
        """Returns one bool tensor `(batch, steps_i)` per modality: True at usable positions."""
        num_modalities = len(features)
        if sequence_masks is None and isinstance(mask, (list, tuple)):
            sequence_masks, mask = list(mask), None
        if sequence_masks is None:
            sequence_masks = [None] * num_modalities
        if not isinstance(sequence_masks, (list, tuple)) or len(sequence_masks) != num_modalities:
            raise ValueError(
                f"CrossModalAttention: `sequence_masks` must be a list of {num_modalities} entries "
                f"(None or (batch, steps) bool tensors). Received: {sequence_masks!r}"
            )
        present = self.presence(mask, features, "float32")
        validity = []
        for index, (feature, sequence_mask) in enumerate(
            zip(features, sequence_masks, strict=True)
        ):
            is_present = ops.expand_dims(ops.greater(present[:, index], 0), axis=-1)
            if sequence_mask is None:
                valid = ops.logical_and(is_present, ops.ones_like(feature[:, :, 0], dtype="bool"))
            else:
                sequence_mask = ops.convert_to_tensor(sequence_mask)
                if len(sequence_mask.shape) != 2:
                    raise ValueError(
                        f"CrossModalAttention: sequence mask {index} must have shape (batch, steps). "
                        f"Received shape {sequence_mask.shape} for a feature of shape {feature.shape}"
                    )
                if sequence_mask.dtype != "bool":
                    sequence_mask = ops.greater(sequence_mask, ops.cast(0.5, sequence_mask.dtype))
                valid = ops.logical_and(is_present, sequence_mask)
            validity.append(valid)
        return validity

    def call(
        self,
        inputs,
        mask=None,
        sequence_masks=None,
        return_attention_scores=False,
        training=None,
    ):
        features = list(inputs)
        validity = self._sequence_validity(features, mask, sequence_masks)
        projected = [
            projection(_common.zero_absent(feature, ops.cast(valid, feature.dtype)))
            for projection, feature, valid in zip(
                self.input_projections, features, validity, strict=True
            )
        ]
        scale = 1.0 / math.sqrt(self.units // self.num_heads)
        pooled, query_weights, all_scores = [], [], []
        for slot, index in enumerate(self._query_indices(len(features))):
            others = [j for j in range(len(features)) if j != index]
            context = ops.concatenate([projected[j] for j in others], axis=1)
            context_valid = ops.concatenate([validity[j] for j in others], axis=1)
            query = self.query_dense[slot](projected[index]) * ops.cast(scale, self.compute_dtype)
            key = self.key_dense[slot](context)
            value = self.value_dense[slot](context)
            scores = ops.einsum("bqhk,bshk->bhqs", query, key)
            key_valid = ops.expand_dims(ops.expand_dims(context_valid, axis=1), axis=1)
            weights = _common.masked_softmax(scores, key_valid, axis=-1)
            attended = ops.einsum(
                "bhqs,bshk->bqhk", self.dropout_layer(weights, training=training), value
            )
            attended = self.output_dense[slot](attended)
            # A query with no usable key gets no attention output, not the output bias alone.
            has_key = ops.any(context_valid, axis=1)
            attended = _common.zero_absent(attended, ops.cast(has_key, attended.dtype))
            outputs = self.norms[slot](projected[index] + attended)
            query_valid = validity[index]
            pooled.append(_common.masked_mean(outputs, query_valid, axis=1))
            query_weights.append(ops.any(query_valid, axis=1))
            all_scores.append(weights)
        stacked = ops.stack(pooled, axis=1)
        usable = ops.cast(ops.stack(query_weights, axis=1), stacked.dtype)
        fused = _common.masked_mean(stacked, usable, axis=1)
        if return_attention_scores:
            return fused, (all_scores[0] if self.query is not None else all_scores)
        return fused

    def attention_scores_spec(self, shapes):
        scores = []
        for index in self._query_indices(len(shapes)):
            other_steps = [shapes[j][1] for j in range(len(shapes)) if j != index]
            total = None if None in other_steps else sum(other_steps)
            scores.append(
                keras.KerasTensor(
                    (shapes[0][0], self.num_heads, shapes[index][1], total),
                    dtype=self.compute_dtype,
                )
            )
        return scores[0] if self.query is not None else scores
