"""`TextSpec.from_pretrained`: a checkpoint's own tokenizer in the pipeline, the saved pipeline
and the raw-string export, feeding a `mk.branches.pretrained` text branch."""

import shutil

import keras
import numpy as np
import pytest
from pretrained_golden import golden_dir as checkpoint_folder
from pretrained_golden import load_golden

import mmkeras as mk

# The golden sentence with literal special-token strings ("<s> </s> <pad> <mask> <unk> ..."):
# the reference tokenizer also reads "<unk>" as the unknown token and lets "<mask>" swallow the
# space before it; keras-hub's tokenizers read the text literally (see docs/pretrained.md).
LITERAL_SPECIAL_TOKENS = "<mask>"


def _ordinary(golden):
    return [i for i, s in enumerate(golden["sentences"]) if LITERAL_SPECIAL_TOKENS not in s]


@pytest.mark.parametrize("family", ["roberta", "xlm_roberta", "clip", "siglip"])
def test_token_ids_equal_the_reference_tokenizer(family):
    golden = load_golden(family)
    rows = _ordinary(golden)
    assert len(rows) >= 6
    spec = mk.data.TextSpec.from_pretrained(checkpoint_folder(family), max_length=16)
    ids = spec.text_tokenizer(np.array(golden["sentences"])[rows]).numpy()
    np.testing.assert_array_equal(ids, np.array(golden["input_ids"])[rows])


@pytest.mark.parametrize("family", ["roberta", "xlm_roberta"])
def test_pipeline_ids_through_the_branch_match_the_reference_states(family, tmp_path):
    golden = load_golden(family)
    rows = _ordinary(golden)
    manifest = tmp_path / "train.csv"
    texts = [golden["sentences"][i] or " " for i in rows]
    import csv

    with open(manifest, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows([[t, "a"] for t in texts])
    folder = checkpoint_folder(family)
    pipe = mk.data.Pipeline(
        schema={"text": "text", "label": "label"},
        text=mk.data.TextSpec.from_pretrained(folder, max_length=16),
    )
    pipe.adapt(str(manifest))
    dataset = pipe.dataset(str(manifest), batch_size=len(rows), errors="skip")
    inputs, _ = next(iter(dataset))
    branch = mk.branches.pretrained(folder, return_sequence=True, max_length=16)
    out = branch(inputs["text"])
    kept = [i for i in rows if golden["sentences"][i].strip()]  # the pipeline skips empty text
    reference = np.array(golden["last_hidden_state"])[kept]
    mask = np.array(golden["attention_mask"])[kept].astype(bool)
    sequence = keras.ops.convert_to_numpy(out["sequence"])
    assert np.abs(sequence[mask] - reference[mask]).max() < 1e-4
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out["sequence_mask"]), mask)


def test_a_sentencepiece_tokenizer_survives_a_new_random_seed():
    """TensorFlow Text's SentencePiece model lives in an eager kernel that setting a seed clears."""
    spec = mk.data.TextSpec.from_pretrained(checkpoint_folder("xlm_roberta"), max_length=8)
    before = spec.text_tokenizer(["a small dog runs"]).numpy()
    keras.utils.set_random_seed(1)
    np.testing.assert_array_equal(spec.text_tokenizer(["a small dog runs"]).numpy(), before)


def test_a_saved_pipeline_keeps_the_tokenizer_without_the_checkpoint(tmp_path):
    folder = tmp_path / "checkpoint"
    shutil.copytree(checkpoint_folder("roberta"), folder)
    pipe = mk.data.Pipeline(
        schema={"text": "text", "label": "label"},
        text=mk.data.TextSpec.from_pretrained(str(folder), max_length=12),
        label=mk.data.LabelSpec(classes=["a", "b"]),
    )
    texts = np.array(["a small dog", "Café déjà vu", "the park"])
    before = pipe.specs["text"].text_tokenizer(texts).numpy()
    pipe.save(str(tmp_path / "pipe"))
    shutil.rmtree(folder)
    loaded = mk.data.Pipeline.load(str(tmp_path / "pipe"))
    np.testing.assert_array_equal(loaded.specs["text"].text_tokenizer(texts).numpy(), before)
    saved = sorted(p.name for p in (tmp_path / "pipe").rglob("*") if p.is_file())
    assert not any(name.endswith(".safetensors") for name in saved)  # no weights copied


def test_the_export_tokenizes_raw_strings_as_the_pipeline_does(tmp_path):
    import tensorflow as tf

    folder = checkpoint_folder("roberta")
    pipe = mk.data.Pipeline(
        schema={"text": "text", "label": "label"},
        text=mk.data.TextSpec.from_pretrained(folder, max_length=12),
        label=mk.data.LabelSpec(classes=["a", "b"]),
    )
    model = mk.build_model(
        branches={"text": mk.branches.pretrained(folder, max_length=12, output_dim=8)},
        task=mk.tasks.Classification(num_classes=2),
    )
    path = str(tmp_path / "export")
    mk.export.saved_model(model, pipe, path)
    texts = ["a small dog runs", "Ångström and İstanbul", "東京"]
    served = tf.saved_model.load(path).signatures["serving_default"](text=tf.constant(texts))
    ids = pipe.specs["text"].text_tokenizer(np.array(texts))
    expected = keras.ops.convert_to_numpy(model({"text": ids}))
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-5)


def test_a_text_spec_needs_a_text_checkpoint():
    with pytest.raises(ValueError, match=r"has no text encoder; it has: \['image'\]"):
        mk.data.TextSpec.from_pretrained(checkpoint_folder("vit"), max_length=8)


def test_a_pretrained_tokenizer_needs_its_checkpoint():
    with pytest.raises(ValueError, match="tokenizer='pretrained' needs `vocab`"):
        mk.data.TextSpec(tokenizer="pretrained", max_length=8)
