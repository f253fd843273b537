"""Pretrained branches in training: configs, stages, layer-wise learning rates, LoRA, mixed
precision, and the trainable parameter count a run prints."""

import csv

import keras
import numpy as np
import pytest
from pretrained_golden import golden_dir as checkpoint_folder
from pretrained_golden import load_golden

import mmkeras as mk
from mmkeras.config import from_dict


def _text_manifest(path, rows=24):
    words = ["red", "green", "small", "dog", "cat", "park", "runs", "blue"]
    rng = np.random.default_rng(0)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for i in range(rows):
            label = i % 2
            text = " ".join(rng.choice(words, 3)) + (" dog" if label else " cat")
            writer.writerow([text, "yes" if label else "no"])


def test_a_config_trains_a_pretrained_text_branch_and_prints_the_trainable_count(tmp_path, capsys):
    _text_manifest(tmp_path / "train.csv")
    _text_manifest(tmp_path / "val.csv", rows=8)
    folder = checkpoint_folder("roberta")
    config = {
        "data": {
            "train": str(tmp_path / "train.csv"),
            "validation": str(tmp_path / "val.csv"),
            "schema": {"text": "text", "label": "label"},
            "text": {"tokenizer": "pretrained", "vocab": folder, "max_length": 12},
            "batch_size": 8,
        },
        "model": {
            "branches": {
                "text": {"kind": "pretrained", "source": folder, "output_dim": 8, "trainable": 1}
            },
        },
        "train": {"epochs": 1, "verbose": 0},
        "callbacks": {"tensorboard": False},
        "output_dir": str(tmp_path / "runs"),
        "name": "pretrained_text",
    }
    run = mk.train.fit(from_dict(config, base_dir=tmp_path))
    printed = capsys.readouterr().out
    assert "parameters:" in printed and "trainable of" in printed
    encoder = run.model.get_layer("pretrained_roberta").get_layer("encoder")
    assert encoder.get_layer("transformer_layer_0").trainable is False
    assert encoder.get_layer("transformer_layer_1").trainable is True
    reloaded = keras.saving.load_model(str(tmp_path / "runs" / "pretrained_text" / "model.keras"))
    ids = np.array([[0, 5, 6, 2, 1, 1, 1, 1, 1, 1, 1, 1]], "int32")
    np.testing.assert_allclose(reloaded({"text": ids}), run.model({"text": ids}), atol=1e-6)


def test_a_stage_plan_freezes_then_unfreezes_a_pretrained_branch(tmp_path):
    from mmkeras.train.stage import pretrained_branches

    config = from_dict(
        {
            "data": {
                "train": "t.csv",
                "schema": {"text": "text", "label": "label"},
                "text": {"tokenizer": "pretrained", "vocab": "hf://FacebookAI/roberta-base"},
            },
            "model": {"branches": {"text": {"kind": "pretrained", "source": "roberta_base_en"}}},
            "finetune": {"stages": [{"epochs": 1}, {"epochs": 1, "trainable": "all"}]},
        },
        base_dir=tmp_path,
    )
    assert pretrained_branches(config) == ("text",)


def test_layerwise_learning_rates_decay_from_the_top_block_and_spare_the_projection():
    branch = mk.branches.pretrained(checkpoint_folder("vit"), output_dim=4, trainable=True)
    multipliers = mk.train.layerwise_lr_multipliers(branch, 0.5, layer_decay=0.5)
    optimizer = mk.train.DiscriminativeAdamW(1e-3, lr_multipliers=multipliers)
    blocks = mk.branches.trainable_blocks(branch)
    top, bottom, head = blocks[-2], blocks[0], blocks[-1]
    assert {optimizer.multiplier_for(w) for layer in top for w in layer.weights} == {0.5}
    assert {optimizer.multiplier_for(w) for layer in bottom for w in layer.weights} == {0.25}
    assert {optimizer.multiplier_for(w) for layer in head for w in layer.weights} == {1.0}


def test_lora_trains_adapters_only_and_starts_from_the_pretrained_output():
    folder = checkpoint_folder("roberta")
    golden = load_golden("roberta")
    ids = np.array(golden["input_ids"][:2], "int32")
    plain = mk.branches.pretrained(folder, return_sequence=True)
    lora = mk.branches.pretrained(folder, return_sequence=True, lora_rank=2)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(lora(ids)["sequence"]),
        keras.ops.convert_to_numpy(plain(ids)["sequence"]),
        atol=1e-6,
    )
    names = {w.name for w in lora.trainable_weights}
    assert names == {"lora_kernel_a", "lora_kernel_b"}
    # Unfreezing a LoRA branch (as a fine-tuning stage does) keeps the base weights frozen.
    mk.branches.set_trainable(lora, True)
    assert {w.name for w in lora.trainable_weights} == names
    mk.branches.set_trainable(lora, 1)
    top_only = {w.path for w in lora.trainable_weights}
    assert top_only and all(p.startswith("transformer_layer_1/") for p in top_only)


@pytest.mark.parametrize("trainable, expected", [(False, "head"), (True, "all"), (1, "top")])
def test_trainable_settings_of_a_pretrained_branch(trainable, expected):
    branch = mk.branches.pretrained(checkpoint_folder("vit"), output_dim=4, trainable=trainable)
    trained = {w.path.split("/")[0] for w in branch.trainable_weights}
    blocks = mk.branches.trainable_blocks(branch)
    if expected == "head":
        assert trained == {"feature"}
    elif expected == "all":
        assert len(branch.trainable_weights) == len(branch.weights)
    else:
        top_weights = {id(w) for layer in blocks[-2] + blocks[-1] for w in layer.weights}
        assert {id(w) for w in branch.trainable_weights} == top_weights


def test_a_pretrained_branch_trains_under_mixed_precision():
    folder = checkpoint_folder("vit")
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        branch = mk.branches.pretrained(folder, output_dim=4, trainable=True)
        model = mk.build_model(branches={"image": branch}, task=mk.tasks.Classification(2))
        model.compile_defaults()
        images = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
        history = model.fit({"image": images}, np.array([0, 1, 0, 1]), epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        assert branch.get_layer("encoder").compute_dtype == "float16"
    finally:
        keras.mixed_precision.set_dtype_policy("float32")


def test_set_trainable_counts_the_encoder_blocks_of_a_pretrained_branch():
    """A stage's `trainable: k` means what `pretrained(trainable=k)` means: the top k encoder
    blocks, with the projection on top."""
    folder = checkpoint_folder("vit")
    built = mk.branches.pretrained(folder, output_dim=4, trainable=1)
    staged = mk.branches.set_trainable(mk.branches.pretrained(folder, output_dim=4), 1)
    assert [w.path for w in staged.trainable_weights] == [w.path for w in built.trainable_weights]
    assert {w.path.split("/")[0] for w in staged.trainable_weights} >= {"feature"}
    assert mk.branches.set_trainable(staged, 0).trainable_weights == []
