"""RoBERTa and XLM-RoBERTa branches against the reference outputs of tiny random checkpoints.

The branches read the golden's token ids (the Hugging Face tokenizer's; mmkeras's own tokenizer
is tested elsewhere) and make their padding mask from the pad id.
"""

import json
import shutil

import keras
import numpy as np
import pytest
from pretrained_golden import golden_dir, load_golden

import mmkeras as mk
from mmkeras.branches import trainable_blocks

FAMILIES = ("roberta", "xlm_roberta")
PAD_ID = 1
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def goldens():
    return {family: load_golden(family) for family in FAMILIES}


@pytest.fixture(scope="module")
def branches():
    return {
        family: mk.branches.pretrained(golden_dir(family), return_sequence=True)
        for family in FAMILIES
    }


def right_padded(ids):
    """Rows whose pad ids all come after the last real token.

    A pad id inside the text (the literal string "<pad>" in one golden sentence) is an attended
    token to the reference and padding to the branch, which sees ids only: after it, that row
    differs (documented in `RobertaFamily`).
    """
    is_pad = ids == PAD_ID
    return np.array([not np.any(row[:-1] & ~row[1:]) for row in is_pad])


def max_difference(a, b):
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


@pytest.mark.parametrize("family", FAMILIES)
def test_last_hidden_state_matches_the_reference_at_real_positions(family, goldens, branches):
    golden = goldens[family]
    ids = golden["input_ids"].astype("int32")
    rows = right_padded(ids)
    assert rows.sum() >= len(rows) - 1  # every golden row but the literal "<pad>" one
    out = branches[family].predict(ids, verbose=0)
    real = golden["attention_mask"].astype(bool)
    np.testing.assert_array_equal(out["sequence_mask"][rows], real[rows])
    assert out["sequence"].shape == golden["last_hidden_state"].shape
    selected = real & rows[:, None]
    assert max_difference(out["sequence"][selected], golden["last_hidden_state"][selected]) < (
        TOLERANCE
    )
    np.testing.assert_array_equal(out["feature"], out["sequence"][:, 0])


@pytest.mark.parametrize("family", FAMILIES)
def test_pooler_is_the_checkpoints_pooling_head(family, goldens):
    golden = goldens[family]
    ids = golden["input_ids"].astype("int32")
    rows = right_padded(ids)
    pooled = mk.branches.pretrained(golden_dir(family), pooling="pooler").predict(ids, verbose=0)
    assert max_difference(pooled[rows], golden["pooler_output"][rows]) < TOLERANCE


@pytest.mark.parametrize("family", FAMILIES)
def test_a_fixed_length_branch_matches_too(family, goldens):
    golden = goldens[family]
    ids = golden["input_ids"].astype("int32")
    rows = right_padded(ids)
    branch = mk.branches.pretrained(
        golden_dir(family), max_length=ids.shape[1], return_sequence=True
    )
    out = branch.predict(ids[rows], verbose=0)
    real = golden["attention_mask"].astype(bool)[rows]
    assert max_difference(out["sequence"][real], golden["last_hidden_state"][rows][real]) < (
        TOLERANCE
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("hidden_act", "gelu_new"),
        ("layer_norm_eps", 1e-12),
        ("position_embedding_type", "relative_key"),
    ],
)
def test_checkpoints_keras_hub_cannot_reproduce_are_refused(key, value, tmp_path):
    folder = tmp_path / "roberta"
    shutil.copytree(golden_dir("roberta"), folder)
    config = json.loads((folder / "config.json").read_text())
    config[key] = value
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=rf"{key}={value!r} are not supported"):
        mk.branches.pretrained(str(folder))


@pytest.mark.parametrize("family", FAMILIES)
def test_keras_round_trip_gives_identical_outputs(family, goldens, tmp_path):
    ids = goldens[family]["input_ids"].astype("int32")
    branch = mk.branches.pretrained(
        golden_dir(family), pooling="pooler", output_dim=4, return_sequence=True
    )
    before = branch.predict(ids, verbose=0)
    path = tmp_path / "branch.keras"
    branch.save(path)
    after = keras.saving.load_model(path, safe_mode=True).predict(ids, verbose=0)
    for key in ("feature", "sequence", "sequence_mask"):
        np.testing.assert_array_equal(after[key], before[key])


def _paths(variables):
    return {v.path for v in variables}


@pytest.mark.parametrize("family", FAMILIES)
def test_trainable_settings_choose_the_weights_that_train(family):
    head = {"feature/kernel", "feature/bias"}
    frozen = mk.branches.pretrained(golden_dir(family), trainable=False, output_dim=4)
    assert _paths(frozen.trainable_weights) == head
    everything = mk.branches.pretrained(golden_dir(family), trainable=True, output_dim=4)
    assert _paths(everything.trainable_weights) == _paths(everything.weights)
    top = mk.branches.pretrained(golden_dir(family), trainable=1, output_dim=4)
    top_block = {v.path for layer in trainable_blocks(top)[-2] for v in layer.weights}
    assert top_block and _paths(top.trainable_weights) == top_block | head
    # The embeddings go with the lowest block.
    lowest = {layer.name for layer in trainable_blocks(top)[0]}
    assert {"embeddings", "embeddings_layer_norm"} <= lowest


@pytest.mark.parametrize("family", FAMILIES)
def test_lora_trains_only_the_adapters_and_the_projection(family, goldens):
    ids = goldens[family]["input_ids"].astype("int32")
    lora = mk.branches.pretrained(golden_dir(family), lora_rank=2, output_dim=4)
    trained = _paths(lora.trainable_weights)
    adapters = {p for p in trained if p.rsplit("/", 1)[-1].startswith("lora_kernel")}
    assert trained - adapters == {"feature/kernel", "feature/bias"}
    assert len(adapters) == 2 * 2 * 2  # query and value of two layers, two factors each
    plain = mk.branches.pretrained(golden_dir(family), output_dim=4)
    plain.get_layer("feature").set_weights(lora.get_layer("feature").get_weights())
    np.testing.assert_allclose(
        lora.predict(ids, verbose=0), plain.predict(ids, verbose=0), atol=1e-6
    )


def test_vit_and_roberta_branches_train_in_a_cross_attention_model(goldens):
    images = load_golden("vit")["images"].astype("float32")
    ids = goldens["roberta"]["input_ids"].astype("int32")[: len(images)]
    # Cross-modal attention reads the branches' sequences: the frozen encoders' own states.
    vit = mk.branches.pretrained(golden_dir("vit"), return_sequence=True, name="vit_branch")
    roberta = mk.branches.pretrained(
        golden_dir("roberta"), return_sequence=True, name="roberta_branch"
    )
    model = mk.build_model(
        branches={"image": vit, "text": roberta},
        fusion="cross_attention",
        task=mk.tasks.Classification(num_classes=2),
    )
    assert not vit.trainable_weights and not roberta.trainable_weights
    inputs = {"image": images, "text": ids}
    encoded = [vit.predict(images, verbose=0), roberta.predict(ids, verbose=0)]
    trainable_before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(inputs, np.array([0, 1]), epochs=1, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    for before, after in zip(trainable_before, model.trainable_weights, strict=True):
        assert not np.array_equal(before, after.numpy())  # the fusion and the head trained
    for before, branch, x in zip(encoded, (vit, roberta), (images, ids), strict=True):
        after = branch.predict(x, verbose=0)
        np.testing.assert_array_equal(after["sequence"], before["sequence"])
