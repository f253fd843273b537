"""`Fusion`: what every fusion layer shares, and the class attributes a model reads."""

import keras
import numpy as np
import pytest
from keras import ops

import mmkeras as mk
from mmkeras.layers import Fusion
from mmkeras.models import FUSIONS

# fusion name -> (consumes_sequences, returns_attention_scores); the others declare neither.
DECLARED = {"cross_attention": (True, True), "attention": (False, True)}


def _layer(name):
    return mk.models.make_fusion(name, default_units=8)


@pytest.mark.parametrize("name", sorted(FUSIONS))
def test_every_fusion_is_a_fusion_and_declares_what_it_consumes_and_returns(name):
    layer = _layer(name)
    assert isinstance(layer, Fusion)
    declared = (layer.consumes_sequences, layer.returns_attention_scores)
    assert declared == DECLARED.get(name, (False, False))
    assert layer.feature_rank == (3 if layer.consumes_sequences else 2)


@pytest.mark.parametrize("name", sorted(FUSIONS))
def test_every_fusion_checks_its_inputs_the_same_way(name):
    layer = _layer(name)
    steps = (5,) if layer.consumes_sequences else ()
    with pytest.raises(ValueError, match=f"{type(layer).__name__} expects a list"):
        layer.compute_output_shape((None, *steps, 4))
    wrong_rank = [(None, 4, 4, 4), (None, 4, 4, 4)]
    with pytest.raises(ValueError, match=f"{type(layer).__name__}: feature 0 must have shape"):
        layer.compute_output_shape(wrong_rank)
    features = [keras.Input((*steps, 4)), keras.Input((*steps, 6))]
    assert layer.compute_mask(features, mask=[None, None]) is None


class _MeanWithWeights(Fusion):
    """A user's fusion: the mean of the present features, and its weights as attention scores."""

    returns_attention_scores = True

    def call(self, inputs, mask=None, return_attention_scores=False):
        present = self.presence(mask, inputs)
        weights = present / ops.maximum(ops.sum(present, axis=-1, keepdims=True), 1.0)
        fused = ops.sum(ops.stack(inputs, axis=1) * ops.expand_dims(weights, -1), axis=1)
        return (fused, weights) if return_attention_scores else fused

    def fused_size(self, shapes):
        return shapes[0][-1]

    def attention_scores_spec(self, shapes):
        return keras.KerasTensor((shapes[0][0], len(shapes)), dtype=self.compute_dtype)


def test_a_model_wires_a_user_fusion_from_its_class_attributes(rng):
    branches = {
        k: mk.branches.tabular_mlp(num_features=3, output_dim=4, name=k + "_mlp") for k in "ab"
    }
    model = mk.build_model(branches=branches, fusion=_MeanWithWeights(), task=mk.tasks.Regression())
    x = {k: rng.normal(size=(4, 3)).astype("float32") for k in "ab"}
    present = np.array([[1, 1], [1, 0], [0, 1], [1, 1]], dtype="float32")
    weights = model.attention_weights_model().predict({**x, "present": present}, verbose=0)
    np.testing.assert_allclose(weights, present / present.sum(axis=1, keepdims=True), atol=1e-6)
