"""CLIP's towers, tokenizer and dual encoder against the reference (tests/data/pretrained/clip)."""

import json
import os
import shutil

import family_checks as checks
import keras
import numpy as np
import pytest
from image_text_golden import perturb, raw_images
from pretrained_golden import golden_dir, load_config

import mmkeras as mk
from mmkeras.pretrained import family_for, resolve_source

FAMILY = "clip"
FOLDER = golden_dir(FAMILY)


reference, vision, text, dual_encoder = checks.image_text_fixtures(FAMILY)


def test_vision_tower_matches_reference_from_raw_pixels(vision, reference):
    # The sequence is the encoder's output before the post-norm; the pooler (the default
    # pooling) is the post-normed class token.
    out = checks.check_vision_tower(vision, reference)
    assert out["sequence_mask"].all()


def test_projection_pooling_gives_the_reference_embeddings(reference):
    vision = mk.branches.pretrained(FOLDER, modality="image", pooling="projection")
    text = mk.branches.pretrained(FOLDER, modality="text", pooling="projection")
    for projected, expected in (
        (vision.predict(raw_images(reference), verbose=0), reference["image_embeds"]),
        (text.predict(reference["input_ids"].astype("int32"), verbose=0), reference["text_embeds"]),
    ):
        unit = projected / np.linalg.norm(projected, axis=1, keepdims=True)
        np.testing.assert_allclose(unit, expected, atol=checks.TOLERANCE, rtol=0)


def test_text_tower_matches_reference_at_every_position(text, reference):
    ids = reference["input_ids"].astype("int32")
    out = text.predict(ids, verbose=0)
    np.testing.assert_allclose(
        out["sequence"], reference["text_last_hidden_state"], atol=checks.TOLERANCE, rtol=0
    )
    np.testing.assert_array_equal(out["sequence_mask"], reference["attention_mask"] == 1)
    # The checkpoint says eos_token_id = 2: the reference pools at the largest id of each row.
    np.testing.assert_allclose(
        out["feature"], reference["text_pooler_output"], atol=checks.TOLERANCE, rtol=0
    )


def test_tokenizer_and_spec_arguments_reproduce_the_reference_ids(reference):
    checks.check_tokenizer_and_spec_arguments(
        FOLDER, reference, reference["special_tokens"]["bos_token"][1]
    )


def test_tokenizer_runs_in_tf_data(reference):
    first = checks.first_ids_in_tf_data(FOLDER, reference)
    assert first == reference["input_ids"][0][1:10].tolist()  # between the start and the end token


def test_zero_shot_and_embeddings_match_reference(dual_encoder, reference):
    logits = reference["logits_per_image"].astype("float64")
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    checks.check_zero_shot_and_embeddings(dual_encoder, reference, expected)
    assert dual_encoder.loss_kind == "softmax"
    scale = float(keras.ops.convert_to_numpy(dual_encoder.contrastive_logits.scale()))
    assert scale == pytest.approx(float(np.exp(np.ravel(reference["logit_scale"])[0])), rel=1e-6)


def test_dual_encoder_keras_round_trip(dual_encoder, reference, tmp_path):
    checks.check_dual_encoder_round_trip(dual_encoder, reference, tmp_path / "clip.keras")


def test_text_branch_keras_round_trip(text, reference, tmp_path):
    ids = reference["input_ids"].astype("int32")
    checks.check_round_trip(
        text, ids, tmp_path / "text.keras", ("feature", "sequence", "sequence_mask")
    )


def test_contrastive_fine_tuning_runs(reference):
    checks.check_fine_tuning_runs(mk.models.DualEncoder.from_pretrained(FOLDER), reference, 1e-3)


def test_checkpoint_with_two_towers_needs_modality():
    checks.check_needs_modality(FOLDER)
    with pytest.raises(ValueError, match=r"has no audio encoder; it has: \['image', 'text'\]"):
        mk.branches.pretrained(FOLDER, modality="audio")


def test_a_vision_only_checkpoint(reference, tmp_path):
    """A `clip_vision_model` checkpoint (its tensors without the `vision_model.` prefix) needs no
    modality= and gives the full model's vision tower; it cannot make a dual encoder."""
    from safetensors import safe_open
    from safetensors.numpy import save_file

    vision_config = {**load_config(FAMILY)["vision_config"], "model_type": "clip_vision_model"}
    (tmp_path / "config.json").write_text(json.dumps(vision_config))
    shutil.copy(os.path.join(FOLDER, "preprocessor_config.json"), tmp_path)
    with safe_open(os.path.join(FOLDER, "model.safetensors"), framework="np") as f:
        tensors = {
            name[len("vision_model.") :]: f.get_tensor(name)
            for name in f.keys()
            if name.startswith("vision_model.")
        }
    save_file(tensors, str(tmp_path / "model.safetensors"))
    branch = mk.branches.pretrained(str(tmp_path), return_sequence=True)
    out = branch.predict(raw_images(reference), verbose=0)
    np.testing.assert_allclose(
        out["sequence"], reference["vision_last_hidden_state"], atol=checks.TOLERANCE, rtol=0
    )
    with pytest.raises(ValueError, match="image and a text tower"):
        mk.models.DualEncoder.from_pretrained(str(tmp_path))


def test_keras_hub_preset_towers_match_keras_hub(tmp_path):
    import keras_hub

    vision_encoder, text_encoder = checks.tiny_keras_hub_encoders(
        keras_hub.models.CLIPVisionEncoder, keras_hub.models.CLIPTextEncoder
    )
    backbone = keras_hub.models.CLIPBackbone(vision_encoder, text_encoder, projection_dim=12)
    perturb(backbone, seed=3)
    embedding = vision_encoder.embedding
    # As converted presets hold them (a fresh keras-hub encoder leaves them at zero).
    embedding.position_ids.assign(np.arange(embedding.num_positions)[None])
    backbone.save_to_preset(str(tmp_path))
    converter = keras_hub.layers.CLIPImageConverter(
        image_size=(32, 32), scale=[1 / 127.5] * 3, offset=[-1.0] * 3
    )
    converter.save_to_preset(str(tmp_path))
    letters = [chr(ord("a") + i) for i in range(26)]
    tokens = letters + [c + "</w>" for c in letters[:11]] + ["ab</w>"]
    vocabulary = {token: i for i, token in enumerate(tokens)}
    vocabulary.update({"<|startoftext|>": 38, "<|endoftext|>": 39})
    tokenizer = keras_hub.tokenizers.CLIPTokenizer(
        vocabulary=vocabulary, merges=["a b</w>"], pad_with_end_token=True
    )
    tokenizer.save_to_preset(str(tmp_path))

    rng = np.random.default_rng(0)
    pixels = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    normalized = pixels / 127.5 - 1.0
    vision = mk.branches.pretrained(str(tmp_path), modality="image", pooling="projection")
    np.testing.assert_allclose(
        vision.predict(pixels, verbose=0),
        keras.ops.convert_to_numpy(backbone.get_vision_embeddings(normalized)),
        atol=1e-5,
    )
    ids = np.array([[38, 5, 9, 39, 39, 39, 39, 39], [38, 7, 3, 12, 20, 6, 2, 39]], "int32")
    text = mk.branches.pretrained(
        str(tmp_path), modality="text", pooling="projection", return_sequence=True
    )
    # keras-hub's text encoder masks no padding: compare the positions before it.
    out = text.predict(ids, verbose=0)
    reference_sequence = keras.ops.convert_to_numpy(text_encoder({"token_ids": ids}))
    np.testing.assert_allclose(out["sequence"][0, :4], reference_sequence[0, :4], atol=1e-5)
    np.testing.assert_allclose(out["sequence"][1], reference_sequence[1], atol=1e-5)
    np.testing.assert_allclose(
        out["feature"],
        keras.ops.convert_to_numpy(backbone.get_text_embeddings(ids)),
        atol=1e-5,
    )
    np.testing.assert_array_equal(out["sequence_mask"][0], [1, 1, 1, 1, 0, 0, 0, 0])
    source = resolve_source(str(tmp_path))
    assert family_for(source, "text").spec_arguments(source) == {
        "pad_id": 39,
        "start_id": 38,
        "end_id": 39,
        "max_length": 8,
    }
    ids = family_for(source, "text").tokenizer(source)(["A B", "ab c"]).to_list()
    assert ids == [[26, 27], [37, 28]]


def test_lora_trains_the_adapters_only():
    branch = mk.branches.pretrained(FOLDER, modality="text", lora_rank=2)
    names = [variable.path for variable in branch.trainable_weights]
    assert names and all("lora_kernel" in name for name in names)
    assert len(names) == 2 * 2 * 2  # two blocks, query and value, kernels a and b


def test_trainable_blocks_are_the_encoder_blocks():
    branch = mk.branches.pretrained(FOLDER, modality="image", trainable=1)
    # The top block: the last encoder block and the norm and projection above it.
    trainable = {variable.path.split("/")[0] for variable in branch.trainable_weights}
    assert trainable == {"encoder_block_1", "post_norm", "projection"}
