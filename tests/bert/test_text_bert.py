import json
import os

import numpy as np
import pytest
from bert_helpers import write_safetensors, write_tiny_bert

from mmkeras.branches.text_bert_branch import read_safetensors, text_bert


def _padded(rows, length):
    out = np.zeros((len(rows), length), "int32")
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


@pytest.mark.slow
def test_minilm_matches_reference_embeddings(golden, minilm_path):
    ids = _padded(golden["ids"], golden["max_length"])
    mean = text_bert(minilm_path, pooling="mean", max_length=golden["max_length"])
    features = mean.predict(ids, verbose=0)
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    assert np.abs(features - np.array(golden["mean_normalized"])).max() < 1e-5
    pooler = text_bert(minilm_path, pooling="pooler", max_length=golden["max_length"])
    np.testing.assert_allclose(pooler.predict(ids[:2], verbose=0), golden["pooler"], atol=1e-5)


def test_sequence_output_and_poolings_agree(tiny_bert):
    ids = np.array([[2, 5, 6, 3, 0, 0], [2, 7, 3, 0, 0, 0]], "int32")
    seq_model = text_bert(tiny_bert, return_sequence=True, max_length=6)
    out = seq_model(ids)
    sequence = np.asarray(out["sequence"])
    mask = np.asarray(out["sequence_mask"])
    assert out["feature"].shape == (2, 8) and sequence.shape == (2, 6, 8)
    assert mask.dtype == bool
    np.testing.assert_array_equal(mask, ids != 0)
    expected_mean = [sequence[i][mask[i]].mean(0) for i in range(2)]
    np.testing.assert_allclose(out["feature"], expected_mean, atol=1e-5)
    cls = text_bert(tiny_bert, pooling="cls", max_length=6)(ids)
    np.testing.assert_allclose(cls, sequence[:, 0], atol=1e-5)
    # Padding never reaches the real positions: a shorter row gives the same encodings.
    short = text_bert(tiny_bert, return_sequence=True, max_length=4)(ids[:, :4])
    np.testing.assert_allclose(np.asarray(short["sequence"])[0, :4], sequence[0, :4], atol=1e-5)


def test_checkpoint_weights_are_loaded(tiny_bert):
    tensors = write_tiny_bert(tiny_bert)
    model = text_bert(tiny_bert, pooling="pooler", max_length=6)
    layer = model.get_layer("bert_layer_1")
    np.testing.assert_array_equal(
        layer.intermediate_kernel.numpy(), tensors["encoder.layer.1.intermediate.dense.weight"].T
    )
    np.testing.assert_array_equal(
        model.get_layer("bert_embeddings").word_embeddings.numpy(),
        tensors["embeddings.word_embeddings.weight"],
    )


@pytest.mark.parametrize(
    "trainable, trainable_layers",
    [
        (False, []),
        (True, ["bert_embeddings", "bert_layer_0", "bert_layer_1", "bert_pooler_pooling"]),
        (1, ["bert_layer_1", "bert_pooler_pooling"]),
    ],
)
def test_trainable_controls_which_layers_train(tiny_bert, trainable, trainable_layers):
    model = text_bert(tiny_bert, pooling="pooler", trainable=trainable, max_length=6)
    names = sorted({v.path.split("/")[0] for v in model.trainable_variables})
    assert names == sorted(trainable_layers)


def test_frozen_branch_has_no_dropout_and_trainable_one_has(tiny_bert):
    assert text_bert(tiny_bert, max_length=6).get_layer("bert_layer_0").dropout == 0.0
    assert (
        text_bert(tiny_bert, trainable=True, max_length=6).get_layer("bert_layer_0").dropout == 0.1
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"pooling": "max"}, "pooling"),
        ({"trainable": 3}, "trainable"),
        ({"max_length": 33}, "max_length"),
        ({"dropout": 1.5}, "dropout"),
    ],
)
def test_bad_arguments_are_named(tiny_bert, kwargs, message):
    with pytest.raises(ValueError, match=message):
        text_bert(tiny_bert, **{"max_length": 6, **kwargs})


def test_pytorch_only_checkpoint_explains_how_to_convert(tiny_bert):
    os.rename(
        os.path.join(tiny_bert, "model.safetensors"), os.path.join(tiny_bert, "pytorch_model.bin")
    )
    with pytest.raises(ValueError, match="safe_serialization=True"):
        text_bert(tiny_bert, max_length=6)


def test_other_architectures_are_refused(tiny_bert):
    with open(os.path.join(tiny_bert, "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(tiny_bert, "config.json"), "w") as f:
        json.dump({**config, "model_type": "gpt2"}, f)
    with pytest.raises(ValueError, match="model_type='gpt2'"):
        text_bert(tiny_bert)


def test_safetensors_reader_handles_bfloat16(tmp_path):
    path = str(tmp_path / "t.safetensors")
    write_safetensors(path, {"a": np.arange(6, dtype="float32").reshape(2, 3)})
    np.testing.assert_array_equal(read_safetensors(path)["a"], np.arange(6).reshape(2, 3))
    # bfloat16 is the top half of a float32: 1.5 -> 0x3FC0, -2.0 -> 0xC000.
    header = b'{"b":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}'
    with open(path, "wb") as f:
        f.write(len(header).to_bytes(8, "little") + header + bytes([0xC0, 0x3F, 0x00, 0xC0]))
    np.testing.assert_array_equal(read_safetensors(path)["b"], np.array([1.5, -2.0], "float32"))
