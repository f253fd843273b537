"""Fixtures and checks that the tests of several pretrained families share."""

import json
import shutil

import keras
import numpy as np
import pytest
from image_text_golden import raw_images
from pretrained_golden import golden_dir, load_golden

import mmkeras as mk
from mmkeras.branches import trainable_blocks
from mmkeras.pretrained import family_for, resolve_source

TOLERANCE = 1e-4
HEAD = {"feature/kernel", "feature/bias"}


# === Families with one encoder per checkpoint (ViT, RoBERTa, ...) ===


def golden_fixtures(families):
    """Module fixtures `goldens` (each family's reference outputs) and `branches` (each
    family's default branch, sequence returned, built once)."""

    @pytest.fixture(scope="module")
    def goldens():
        return {family: load_golden(family) for family in families}

    @pytest.fixture(scope="module")
    def branches():
        return {
            family: mk.branches.pretrained(golden_dir(family), return_sequence=True)
            for family in families
        }

    return goldens, branches


def max_difference(a, b):
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def paths(variables):
    return {v.path for v in variables}


def changed_checkpoint(family, key, value, tmp_path):
    """A copy of a golden checkpoint whose config sets `key` to `value`; its folder."""
    folder = tmp_path / family
    shutil.copytree(golden_dir(family), folder)
    config = json.loads((folder / "config.json").read_text())
    config[key] = value
    (folder / "config.json").write_text(json.dumps(config))
    return str(folder)


def check_round_trip(branch, inputs, path, keys):
    """A branch saved to `path` and loaded back gives identical `keys` outputs."""
    before = branch.predict(inputs, verbose=0)
    branch.save(path)
    after = keras.saving.load_model(path, safe_mode=True).predict(inputs, verbose=0)
    for key in keys:
        np.testing.assert_array_equal(after[key], before[key])


def check_trainable_settings(family, fixed=frozenset()):
    """`trainable=False` trains the head only, `trainable=True` every weight but `fixed`, and
    `trainable=1` the top block and the head; returns the `trainable=1` branch."""
    frozen = mk.branches.pretrained(golden_dir(family), trainable=False, output_dim=4)
    assert paths(frozen.trainable_weights) == HEAD
    everything = mk.branches.pretrained(golden_dir(family), trainable=True, output_dim=4)
    assert paths(everything.trainable_weights) == paths(everything.weights) - set(fixed)
    top = mk.branches.pretrained(golden_dir(family), trainable=1, output_dim=4)
    top_block = {v.path for layer in trainable_blocks(top)[-2] for v in layer.weights}
    assert top_block and paths(top.trainable_weights) == top_block | HEAD
    return top


def check_lora_trains_only_the_adapters(family, inputs):
    """A LoRA branch trains its adapters and head only, and starts as the plain branch."""
    lora = mk.branches.pretrained(golden_dir(family), lora_rank=2, output_dim=4)
    trained = paths(lora.trainable_weights)
    adapters = {p for p in trained if p.rsplit("/", 1)[-1].startswith("lora_kernel")}
    assert trained - adapters == HEAD
    assert len(adapters) == 2 * 2 * 2  # query and value of two layers, two factors each
    plain = mk.branches.pretrained(golden_dir(family), output_dim=4)
    plain.get_layer("feature").set_weights(lora.get_layer("feature").get_weights())
    np.testing.assert_allclose(
        lora.predict(inputs, verbose=0), plain.predict(inputs, verbose=0), atol=1e-6
    )


# === Image-text checkpoints (CLIP, SigLIP) ===


def image_text_fixtures(family):
    """Module fixtures `reference`, `vision` and `text` (branches returning the sequence) and
    `dual_encoder` of an image-text golden checkpoint."""

    @pytest.fixture(scope="module")
    def reference():
        return load_golden(family)

    @pytest.fixture(scope="module")
    def vision():
        return mk.branches.pretrained(golden_dir(family), modality="image", return_sequence=True)

    @pytest.fixture(scope="module")
    def text():
        return mk.branches.pretrained(golden_dir(family), modality="text", return_sequence=True)

    @pytest.fixture(scope="module")
    def dual_encoder():
        return mk.models.DualEncoder.from_pretrained(golden_dir(family))

    return reference, vision, text, dual_encoder


def tiny_keras_hub_encoders(vision_class, text_class, **text_options):
    """A tiny keras-hub vision encoder (32x32 images, patches of 8) and text encoder (40 ids,
    8 positions) of the classes given, both two blocks of width 16."""
    blocks = {"hidden_dim": 16, "num_layers": 2, "num_heads": 2, "intermediate_dim": 20}
    vision = vision_class(patch_size=8, image_shape=(32, 32, 3), **blocks)
    text = text_class(
        vocabulary_size=40, embedding_dim=16, max_sequence_length=8, **blocks, **text_options
    )
    return vision, text


def check_vision_tower(vision, reference):
    """The vision branch's sequence and feature (its default pooling, the reference's
    `pooler_output`) are the reference's; returns its outputs."""
    out = vision.predict(raw_images(reference), verbose=0)
    np.testing.assert_allclose(
        out["sequence"], reference["vision_last_hidden_state"], atol=TOLERANCE, rtol=0
    )
    np.testing.assert_allclose(
        out["feature"], reference["vision_pooler_output"], atol=TOLERANCE, rtol=0
    )
    return out


def text_tokenizer(folder):
    source = resolve_source(folder)
    return family_for(source, "text").tokenizer(source)


def check_tokenizer_and_spec_arguments(folder, reference, start_id):
    """The text family's spec arguments are the reference's special ids, and its tokenizer's
    ids packed with them are the reference's `input_ids`."""
    import keras_hub

    source = resolve_source(folder)
    family = family_for(source, "text")
    arguments = family.spec_arguments(source)
    special = reference["special_tokens"]
    assert arguments == {
        "pad_id": special["pad_token"][1],
        "start_id": start_id,
        "end_id": special["eos_token"][1],
        "max_length": reference["max_length"],
    }
    packer = keras_hub.layers.StartEndPacker(
        sequence_length=reference["max_length"],
        start_value=arguments["start_id"],
        end_value=arguments["end_id"],
        pad_value=arguments["pad_id"],
        return_padding_mask=False,
    )
    ids = np.asarray(packer(family.tokenizer(source)(reference["sentences"])))
    np.testing.assert_array_equal(ids, reference["input_ids"])


def first_ids_in_tf_data(folder, reference):
    """The tokenizer's ids of the first reference sentence, mapped over a `tf.data` dataset."""
    import tensorflow as tf

    tokenizer = text_tokenizer(folder)
    dataset = tf.data.Dataset.from_tensor_slices(reference["sentences"][:3]).map(tokenizer)
    return next(iter(dataset)).numpy().tolist()


def check_zero_shot_and_embeddings(dual_encoder, reference, expected_probabilities):
    pixels = raw_images(reference)
    probabilities = dual_encoder.zero_shot(pixels, reference["sentences"])
    assert probabilities.shape == (len(pixels), len(reference["sentences"]))
    np.testing.assert_allclose(probabilities, expected_probabilities, atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose(
        dual_encoder.encode_images(pixels), reference["image_embeds"], atol=TOLERANCE, rtol=0
    )
    np.testing.assert_allclose(
        dual_encoder.encode_texts(reference["sentences"]),
        reference["text_embeds"],
        atol=TOLERANCE,
        rtol=0,
    )


def check_dual_encoder_round_trip(dual_encoder, reference, path):
    """A dual encoder saved to `path` and loaded back gives the same zero-shot probabilities;
    returns the loaded model."""
    dual_encoder.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    pixels = raw_images(reference)
    np.testing.assert_allclose(
        loaded.zero_shot(pixels, reference["sentences"]),
        dual_encoder.zero_shot(pixels, reference["sentences"]),
        atol=1e-6,
    )
    return loaded


def check_fine_tuning_runs(model, reference, learning_rate):
    """Two epochs of a dual encoder's default training on the reference change its loss."""
    model.compile_defaults(learning_rate=learning_rate)
    ids = model.token_ids(reference["sentences"][:2])
    history = model.fit(
        {"image": raw_images(reference), "text": ids}, batch_size=2, epochs=2, verbose=0
    )
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[1] != losses[0]


def check_needs_modality(folder):
    with pytest.raises(
        ValueError, match=r"holds several encoders: pass modality= one of \['image', 'text'\]"
    ):
        mk.branches.pretrained(folder)
