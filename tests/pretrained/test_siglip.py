"""SigLIP's towers, tokenizer and dual encoder against the reference
(tests/data/pretrained/siglip)."""

import os

import family_checks as checks
import keras
import numpy as np
import pytest
from image_text_golden import perturb, raw_images
from pretrained_golden import golden_dir

import mmkeras as mk
from mmkeras.pretrained import family_for, resolve_source

FAMILY = "siglip"
FOLDER = golden_dir(FAMILY)


reference, vision, text, dual_encoder = checks.image_text_fixtures(FAMILY)


def test_vision_tower_matches_reference_from_raw_pixels(vision, reference):
    # The feature is the attention-pooling head's output.
    out = checks.check_vision_tower(vision, reference)
    assert out["sequence"].shape[1] == 16  # the patches, no class token


def test_text_tower_matches_reference(text, reference):
    ids = reference["input_ids"].astype("int32")
    assert text.input.shape[1] == reference["max_length"]  # padded to the full length
    out = text.predict(ids, verbose=0)
    np.testing.assert_allclose(
        out["sequence"], reference["text_last_hidden_state"], atol=checks.TOLERANCE, rtol=0
    )
    np.testing.assert_allclose(
        out["feature"], reference["text_pooler_output"], atol=checks.TOLERANCE, rtol=0
    )
    # The real positions: the tokens and one </s> (a literal </s> inside a text is real too).
    np.testing.assert_array_equal(out["sequence_mask"], reference["attention_mask"] == 1)


def test_tokenizer_and_spec_arguments_reproduce_the_reference_ids(reference):
    checks.check_tokenizer_and_spec_arguments(FOLDER, reference, None)


def test_tokenizer_canonicalises_like_the_reference():
    """Lower case, ASCII punctuation dropped, whitespace runs made one space; a literal </s>
    is the end token, and a trailing one is left for the packer to add."""
    tokenizer = checks.text_tokenizer(FOLDER)
    plain, shouted, ended = tokenizer(
        ["a photo of a dog", "A PHOTO, of \t a dog!!", "a photo of a dog</s>"]
    ).to_list()
    assert plain == shouted == ended
    assert tokenizer("").numpy().tolist() == []


def test_zero_shot_and_embeddings_match_reference(dual_encoder, reference):
    expected = 1.0 / (1.0 + np.exp(-reference["logits_per_image"].astype("float64")))
    checks.check_zero_shot_and_embeddings(dual_encoder, reference, expected)
    assert dual_encoder.loss_kind == "sigmoid"
    head = dual_encoder.contrastive_logits
    bias = float(np.ravel(reference["logit_bias"])[0])
    assert float(keras.ops.convert_to_numpy(head.shift())) == pytest.approx(bias, rel=1e-6)


def test_dual_encoder_keras_round_trip(dual_encoder, reference, tmp_path):
    loaded = checks.check_dual_encoder_round_trip(
        dual_encoder, reference, tmp_path / "siglip.keras"
    )
    assert loaded.loss_kind == "sigmoid"


def test_vision_branch_keras_round_trip(vision, reference, tmp_path):
    pixels = raw_images(reference)
    keys = ("feature", "sequence", "sequence_mask")
    checks.check_round_trip(vision, pixels, tmp_path / "vision.keras", keys)


def test_sigmoid_fine_tuning_runs(reference):
    model = mk.models.DualEncoder.from_pretrained(FOLDER, lora_rank=2)
    checks.check_fine_tuning_runs(model, reference, 1e-2)


def test_checkpoint_with_two_towers_needs_modality():
    checks.check_needs_modality(FOLDER)


def test_text_longer_than_the_positions_is_refused():
    with pytest.raises(ValueError, match="max_length=17 is longer than the 16 positions"):
        mk.branches.pretrained(FOLDER, modality="text", max_length=17)


def test_keras_hub_preset_towers_match_keras_hub(tmp_path):
    import keras_hub

    vision_encoder, text_encoder = checks.tiny_keras_hub_encoders(
        keras_hub.models.SigLIPVisionEncoder, keras_hub.models.SigLIPTextEncoder, projection_dim=12
    )
    backbone = keras_hub.models.SigLIPBackbone(vision_encoder, text_encoder)
    perturb(backbone, seed=5)
    backbone.save_to_preset(str(tmp_path))
    keras_hub.layers.SigLIPImageConverter(
        image_size=(32, 32), scale=1 / 127.5, offset=-1.0
    ).save_to_preset(str(tmp_path))
    proto = open(os.path.join(FOLDER, "spiece.model"), "rb").read()
    keras_hub.tokenizers.SigLIPTokenizer(proto=proto).save_to_preset(str(tmp_path))

    rng = np.random.default_rng(0)
    pixels = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    vision = mk.branches.pretrained(str(tmp_path), modality="image")
    np.testing.assert_allclose(
        vision.predict(pixels, verbose=0),
        keras.ops.convert_to_numpy(vision_encoder({"images": pixels / 127.5 - 1.0})),
        atol=1e-5,
    )
    ids = np.array([[5, 9, 33, 1, 1, 1, 1, 1], [7, 3, 12, 20, 6, 2, 30, 1]], "int32")
    text = mk.branches.pretrained(str(tmp_path), modality="text")
    np.testing.assert_allclose(
        text.predict(ids, verbose=0),
        keras.ops.convert_to_numpy(text_encoder({"token_ids": ids})),
        atol=1e-5,
    )
    source = resolve_source(str(tmp_path))
    assert family_for(source, "text").spec_arguments(source) == {
        "pad_id": 1,
        "start_id": None,
        "end_id": 1,
        "max_length": 8,
    }


def test_tokenizer_survives_reseeding():
    """`keras.utils.set_random_seed` clears the eager kernel that holds TensorFlow Text's
    SentencePiece model; the tokenizer loads it again."""
    tokenizer = checks.text_tokenizer(FOLDER)
    before = tokenizer(["a photo of a dog"]).to_list()
    keras.utils.set_random_seed(1)
    assert tokenizer(["a photo of a dog"]).to_list() == before


def test_tokenizer_runs_in_tf_data(reference):
    first = checks.first_ids_in_tf_data(FOLDER, reference)
    assert first == reference["input_ids"][0][:13].tolist()  # the tokens before </s>
