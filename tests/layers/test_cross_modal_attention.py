import keras
import numpy as np
import pytest

from mmkeras.layers.fusion import CrossModalAttention
from mmkeras.testing import check_presence_mask_contract, run_layer_test

SHAPES = ((2, 3, 4), (2, 5, 6), (2, 2, 5))


def _sequences(rng, batch=4, shapes=SHAPES):
    return [rng.normal(size=(batch, *shape[1:])).astype("float32") for shape in shapes]


@pytest.mark.slow
def test_layer_harness():
    run_layer_test(
        CrossModalAttention,
        {"units": 4, "num_heads": 2, "dropout": 0.1},
        input_shape=SHAPES,
        expected_output_shape=(2, 4),
    )


def test_layer_harness_with_query_and_scores():
    run_layer_test(
        CrossModalAttention,
        {"units": 4, "num_heads": 2, "query": 0},
        input_shape=SHAPES,
        call_kwargs={"return_attention_scores": True},
        expected_output_shape=((2, 4), (2, 2, 3, 7)),
        run_training_check=False,
    )


def test_scores_for_every_query_modality(rng):
    fused, scores = CrossModalAttention(units=4, num_heads=2)(
        _sequences(rng), return_attention_scores=True
    )
    assert fused.shape == (4, 4)
    assert [tuple(s.shape) for s in scores] == [(4, 2, 3, 7), (4, 2, 5, 5), (4, 2, 2, 8)]


@pytest.mark.parametrize("query", [None, 1])
def test_presence_mask_contract(rng, query):
    check_presence_mask_contract(
        CrossModalAttention(units=4, num_heads=2, query=query), _sequences(rng)
    )


def _padding_masks(batch=4):
    masks = [np.ones((batch, steps), dtype=bool) for steps in (3, 5, 2)]
    masks[0][:, 2:] = False  # the last query token is padding
    masks[1][0, 1:] = False
    masks[1][1, 3:] = False
    return masks


@pytest.mark.parametrize("query", [None, 0])
def test_padding_does_not_influence_the_output(rng, query):
    sequences = _sequences(rng)
    masks = _padding_masks()
    layer = CrossModalAttention(units=4, num_heads=2, query=query)
    fused, scores = layer(sequences, sequence_masks=masks, return_attention_scores=True)
    changed = [s.copy() for s in sequences]
    for sequence, mask in zip(changed, masks, strict=True):
        sequence[~mask] = np.nan
    refused = layer(changed, sequence_masks=masks)
    np.testing.assert_allclose(np.asarray(refused), np.asarray(fused), atol=1e-6)
    # Keys at padding positions get exactly zero attention weight.
    first_scores = np.asarray(scores if query is not None else scores[0])
    key_mask = np.concatenate([masks[1], masks[2]], axis=1)
    np.testing.assert_array_equal(first_scores * ~key_mask[:, None, None, :], 0.0)
    np.testing.assert_allclose(first_scores.sum(axis=-1), 1.0, rtol=1e-5)


def test_padded_output_equals_unpadded_output(rng):
    question = rng.normal(size=(1, 3, 4)).astype("float32")
    regions = rng.normal(size=(1, 5, 6)).astype("float32")
    layer = CrossModalAttention(units=4, num_heads=2, query=0)
    reference = np.asarray(layer([question, regions]))
    padded_question = np.concatenate(
        [question, rng.normal(size=(1, 2, 4)).astype("float32")], axis=1
    )
    question_mask = np.array([[True, True, True, False, False]])
    padded = layer([padded_question, regions], sequence_masks=[question_mask, None])
    np.testing.assert_allclose(np.asarray(padded), reference, rtol=1e-5, atol=1e-6)


def test_query_without_keys_keeps_its_own_projection(rng):
    question = rng.normal(size=(1, 3, 4)).astype("float32")
    regions = rng.normal(size=(1, 5, 6)).astype("float32")
    layer = CrossModalAttention(units=4, num_heads=2, query=0)
    out = np.asarray(layer([question, regions], mask=np.array([[1.0, 0.0]], "float32")))
    projected = layer.norms[0](layer.input_projections[0](question))
    np.testing.assert_allclose(out[0], np.asarray(projected)[0].mean(axis=0), rtol=1e-5, atol=1e-6)
    absent_query = np.asarray(layer([question, regions], mask=np.array([[0.0, 1.0]], "float32")))
    np.testing.assert_allclose(absent_query, 0.0)


def _functional_model():
    question = keras.Input((None,), dtype="int32", name="question")
    regions = keras.Input((5, 6), name="regions")
    embedded = keras.layers.Embedding(20, 8)(question)
    question_mask = keras.ops.not_equal(question, 0)
    fused = CrossModalAttention(units=8, num_heads=2, query=0)(
        [embedded, regions], sequence_masks=[question_mask, None]
    )
    return keras.Model([question, regions], keras.layers.Dense(3)(fused))


def test_functional_model_with_sequence_masks_saves_and_loads_in_safe_mode(tmp_path, rng):
    model = _functional_model()
    tokens = np.array([[3, 4, 0, 0], [5, 6, 7, 8]], dtype="int32")
    regions = rng.normal(size=(2, 5, 6)).astype("float32")
    expected = model.predict([tokens, regions], verbose=0)
    # Padding tokens (id 0) are masked: changing them to other ids would change nothing, and the
    # padded first row equals the same row without padding.
    short = model.predict([tokens[:1, :2], regions[:1]], verbose=0)
    np.testing.assert_allclose(expected[:1], short, rtol=1e-5, atol=1e-6)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(
        loaded.predict([tokens, regions], verbose=0), expected, rtol=1e-5, atol=1e-6
    )


def test_keras_masks_of_the_inputs_are_used_as_padding(rng):
    tokens = np.array([[3, 4, 0, 0]], dtype="int32")
    regions = rng.normal(size=(1, 5, 6)).astype("float32")
    question = keras.Input((None,), dtype="int32")
    region_input = keras.Input((5, 6))
    embedding = keras.layers.Embedding(20, 8, mask_zero=True)
    layer = CrossModalAttention(units=8, num_heads=2, query=0)
    fused = layer([embedding(question), region_input])
    model = keras.Model([question, region_input], fused)
    np.testing.assert_allclose(
        model.predict([tokens, regions], verbose=0),
        model.predict([tokens[:, :2], regions], verbose=0),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"units": 6, "num_heads": 4}, "divisible.*Received: units=6, num_heads=4"),
        ({"units": 4, "num_heads": 0}, "num_heads.*Received: num_heads=0"),
        ({"units": 4, "query": -1}, "query.*Received: query=-1"),
        ({"units": 4, "dropout": 1.5}, "dropout.*Received: dropout=1.5"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CrossModalAttention(**kwargs)


def test_query_index_out_of_range():
    with pytest.raises(ValueError, match="query.*2 inputs.*Received: query=2"):
        CrossModalAttention(units=4, query=2).build([(None, 3, 4), (None, 5, 6)])


def test_needs_sequences(rng):
    with pytest.raises(ValueError, match=r"\(batch, steps, dim\)"):
        CrossModalAttention(units=4).build([(None, 4), (None, 6)])
    with pytest.raises(ValueError, match="at least 2"):
        CrossModalAttention(units=4).build([(None, 3, 4)])


def test_wrong_sequence_masks_are_rejected(rng):
    with pytest.raises(ValueError, match="sequence_masks.*list of 3"):
        CrossModalAttention(units=4)(_sequences(rng), sequence_masks=[None])
