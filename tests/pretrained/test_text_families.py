"""RoBERTa and XLM-RoBERTa branches against the reference outputs of tiny random checkpoints.

The branches read the golden's token ids (the Hugging Face tokenizer's; mmkeras's own tokenizer
is tested elsewhere) and make their padding mask from the pad id.
"""

import family_checks as checks
import numpy as np
import pytest
from pretrained_golden import golden_dir, load_golden

import mmkeras as mk
from mmkeras.branches import trainable_blocks

FAMILIES = ("roberta", "xlm_roberta")
PAD_ID = 1
TOLERANCE = 1e-4


goldens, branches = checks.golden_fixtures(FAMILIES)


def right_padded(ids):
    """Rows whose pad ids all come after the last real token.

    A pad id inside the text (the literal string "<pad>" in one golden sentence) is an attended
    token to the reference and padding to the branch, which sees ids only: after it, that row
    differs (documented in `RobertaFamily`).
    """
    is_pad = ids == PAD_ID
    return np.array([not np.any(row[:-1] & ~row[1:]) for row in is_pad])


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
    assert checks.max_difference(
        out["sequence"][selected], golden["last_hidden_state"][selected]
    ) < (TOLERANCE)
    np.testing.assert_array_equal(out["feature"], out["sequence"][:, 0])


@pytest.mark.parametrize("family", FAMILIES)
def test_pooler_is_the_checkpoints_pooling_head(family, goldens):
    golden = goldens[family]
    ids = golden["input_ids"].astype("int32")
    rows = right_padded(ids)
    pooled = mk.branches.pretrained(golden_dir(family), pooling="pooler").predict(ids, verbose=0)
    assert checks.max_difference(pooled[rows], golden["pooler_output"][rows]) < TOLERANCE


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
    assert checks.max_difference(out["sequence"][real], golden["last_hidden_state"][rows][real]) < (
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
    folder = checks.changed_checkpoint("roberta", key, value, tmp_path)
    with pytest.raises(ValueError, match=rf"{key}={value!r} are not supported"):
        mk.branches.pretrained(folder)


@pytest.mark.parametrize("family", FAMILIES)
def test_keras_round_trip_gives_identical_outputs(family, goldens, tmp_path):
    ids = goldens[family]["input_ids"].astype("int32")
    branch = mk.branches.pretrained(
        golden_dir(family), pooling="pooler", output_dim=4, return_sequence=True
    )
    keys = ("feature", "sequence", "sequence_mask")
    checks.check_round_trip(branch, ids, tmp_path / "branch.keras", keys)


@pytest.mark.parametrize("family", FAMILIES)
def test_trainable_settings_choose_the_weights_that_train(family):
    top = checks.check_trainable_settings(family)
    # The embeddings go with the lowest block.
    lowest = {layer.name for layer in trainable_blocks(top)[0]}
    assert {"embeddings", "embeddings_layer_norm"} <= lowest


@pytest.mark.parametrize("family", FAMILIES)
def test_lora_trains_only_the_adapters_and_the_projection(family, goldens):
    checks.check_lora_trains_only_the_adapters(family, goldens[family]["input_ids"].astype("int32"))


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
