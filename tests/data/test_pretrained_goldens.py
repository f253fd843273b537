"""The reference folders in tests/data/pretrained are complete and agree with their configs.

Checks files, the safetensors tables and the shapes in golden.json against config.json, with numpy
and json only, so a regenerated folder that lost a file or changed a size fails here first.
"""

import json
import os

import numpy as np
import pytest
from pretrained_golden import (
    AUDIO_FAMILIES,
    FAMILIES,
    GOLDEN_ROOT,
    IMAGE_FAMILIES,
    IMAGE_TEXT_FAMILIES,
    TEXT_FAMILIES,
    golden_dir,
    load_config,
    load_golden,
    read_safetensors_header,
)

COMMON_FILES = ("config.json", "model.safetensors", "golden.json")
FAMILY_FILES = {
    "vit": ("preprocessor_config.json",),
    "deit": ("preprocessor_config.json",),
    "dinov2": ("preprocessor_config.json",),
    "clip": (
        "preprocessor_config.json",
        "vocab.json",
        "merges.txt",
        "tokenizer.json",
        "tokenizer_config.json",
    ),
    "siglip": ("preprocessor_config.json", "spiece.model", "tokenizer_config.json"),
    "roberta": ("vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json"),
    "xlm_roberta": ("sentencepiece.bpe.model", "tokenizer.json", "tokenizer_config.json"),
    "whisper": ("preprocessor_config.json",),
    "wav2vec2": ("preprocessor_config.json",),
    "hubert": ("preprocessor_config.json",),
}
MODEL_TYPES = {
    "vit": "vit",
    "deit": "deit",
    "dinov2": "dinov2",
    "clip": "clip",
    "siglip": "siglip",
    "roberta": "roberta",
    "xlm_roberta": "xlm-roberta",
    "whisper": "whisper",
    "wav2vec2": "wav2vec2",
    "hubert": "hubert",
}
MAX_FOLDER_BYTES = 400_000
MAX_TREE_BYTES = 2_800_000


def read_json(family, name):
    with open(os.path.join(golden_dir(family), name), encoding="utf-8") as f:
        return json.load(f)


def tensor_shapes(family):
    return {
        name: tuple(entry["shape"])
        for name, entry in read_safetensors_header(
            os.path.join(golden_dir(family), "model.safetensors")
        ).items()
    }


def assert_shape(golden, key, shape):
    assert np.shape(golden[key]) == tuple(shape), f"{key}: {np.shape(golden[key])} != {shape}"


def patches(image_size, patch_size):
    return (image_size // patch_size) ** 2


def test_every_family_has_a_folder_and_nothing_else():
    folders = sorted(
        name for name in os.listdir(GOLDEN_ROOT) if os.path.isdir(os.path.join(GOLDEN_ROOT, name))
    )
    assert folders == sorted(FAMILIES)


def test_readme_describes_every_family():
    with open(os.path.join(GOLDEN_ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    for family in FAMILIES:
        assert f"`{family}/`" in readme, family
    assert "scripts/make_pretrained_golden.py" in readme


def test_the_tree_stays_small():
    sizes = {}
    for family in FAMILIES:
        folder = golden_dir(family)
        sizes[family] = sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder))
    assert max(sizes.values()) < MAX_FOLDER_BYTES, sizes
    assert sum(sizes.values()) < MAX_TREE_BYTES, sizes


@pytest.mark.parametrize("family", FAMILIES)
def test_folder_is_complete(family):
    for name in COMMON_FILES + FAMILY_FILES[family]:
        path = os.path.join(golden_dir(family), name)
        assert os.path.isfile(path), f"{family}: {name} is missing"
        assert os.path.getsize(path) > 0, f"{family}: {name} is empty"
    assert load_config(family)["model_type"] == MODEL_TYPES[family]


@pytest.mark.parametrize("family", FAMILIES)
def test_safetensors_table_is_consistent(family):
    path = os.path.join(golden_dir(family), "model.safetensors")
    header = read_safetensors_header(path)
    with open(path, "rb") as f:
        data_start = 8 + int.from_bytes(f.read(8), "little")
    end = 0
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"]):
        assert entry["dtype"] == "F32", name
        start, stop = entry["data_offsets"]
        assert start == end, f"{name} does not follow the previous tensor"
        assert stop - start == 4 * int(np.prod(entry["shape"])), name
        end = stop
    assert data_start + end == os.path.getsize(path)


@pytest.mark.parametrize("family", FAMILIES)
def test_golden_values_are_finite(family):
    golden = load_golden(family)
    for key, value in golden.items():
        for array in value if isinstance(value, list) else [value]:
            if isinstance(array, np.ndarray):
                assert array.size > 0, key
                assert np.all(np.isfinite(array)), key


@pytest.mark.parametrize("family", IMAGE_FAMILIES + IMAGE_TEXT_FAMILIES)
def test_image_inputs_match_the_preprocessor(family):
    golden = load_golden(family)
    processor = read_json(family, "preprocessor_config.json")
    images, pixel_values = golden["images"], golden["pixel_values"]
    assert images.dtype == np.uint8 and images.ndim == 4 and images.shape[-1] == 3
    size = processor.get("crop_size") if processor.get("do_center_crop") else processor["size"]
    height = size.get("height", size.get("shortest_edge"))
    assert pixel_values.dtype == np.float32
    assert pixel_values.shape == (images.shape[0], 3, height, height)
    # No resampling: the pixels are the (centre-cropped) images, rescaled and normalised.
    top = (images.shape[1] - height) // 2
    crop = images[:, top : top + height, top : top + height].astype(np.float32)
    mean = np.asarray(processor["image_mean"], np.float32)
    std = np.asarray(processor["image_std"], np.float32)
    expected = ((crop * np.float32(processor["rescale_factor"]) - mean) / std).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(pixel_values, expected, atol=1e-5)
    assert golden["resized"] is False


@pytest.mark.parametrize("family", IMAGE_FAMILIES)
def test_image_output_shapes_follow_the_config(family):
    config, golden = load_config(family), load_golden(family)
    hidden, patch = config["hidden_size"], config["patch_size"]
    batch, _, height, _ = golden["pixel_values"].shape
    extra_tokens = {"vit": 1, "deit": 2, "dinov2": 1}[family]
    assert_shape(
        golden, "last_hidden_state", (batch, patches(height, patch) + extra_tokens, hidden)
    )
    weights = tensor_shapes(family)
    positions = weights["embeddings.position_embeddings"]
    assert positions == (1, patches(config["image_size"], patch) + extra_tokens, hidden)
    assert weights["embeddings.patch_embeddings.projection.weight"] == (hidden, 3, patch, patch)
    if family == "vit":
        assert_shape(golden, "pooler_output", (batch, hidden))
        assert weights["pooler.dense.weight"] == (hidden, hidden)
        assert config["layer_norm_eps"] == 1e-12
    if family == "deit":
        assert "pooler_output" not in golden
        assert config["layer_norm_eps"] == 1e-12
    if family == "dinov2":
        assert height < config["image_size"], "the golden should exercise interpolation"
        assert_shape(golden, "pooler_output", (batch, hidden))
        full = golden["checkpoint_size_pixel_values"]
        assert full.shape == (batch, 3, config["image_size"], config["image_size"])
        assert_shape(
            golden,
            "checkpoint_size_last_hidden_state",
            (batch, patches(config["image_size"], patch) + 1, hidden),
        )
        assert_shape(golden, "checkpoint_size_pooler_output", (batch, hidden))
        intermediate = int(hidden * config["mlp_ratio"])
        assert weights["encoder.layer.0.mlp.fc1.weight"] == (intermediate, hidden)
        assert weights["encoder.layer.0.layer_scale1.lambda1"] == (hidden,)


def check_token_ids(golden, vocab_size, max_positions):
    ids, mask = golden["input_ids"], golden["attention_mask"]
    count, length = len(golden["sentences"]), golden["max_length"]
    assert ids.shape == mask.shape == (count, length)
    assert ids.min() >= 0 and ids.max() < vocab_size
    assert set(np.unique(mask)) <= {0, 1}
    assert length <= max_positions
    assert golden["vocab_size"] == vocab_size
    assert [len(row) for row in golden["tokens"]] == [length] * count
    return count, length


@pytest.mark.parametrize("family", TEXT_FAMILIES)
def test_text_shapes_follow_the_config(family):
    config, golden = load_config(family), load_golden(family)
    hidden, vocab = config["hidden_size"], config["vocab_size"]
    # Positions start after the padding id, so the table has two rows more than max_length.
    count, length = check_token_ids(golden, vocab, config["max_position_embeddings"] - 2)
    assert_shape(golden, "last_hidden_state", (count, length, hidden))
    assert_shape(golden, "pooler_output", (count, hidden))
    specials = {name: token_id for name, (_, token_id) in golden["special_tokens"].items()}
    assert specials["pad_token"] == config["pad_token_id"] == 1
    assert specials["bos_token"] == 0 and specials["eos_token"] == 2 and specials["unk_token"] == 3
    assert specials["mask_token"] == vocab - 1
    pad = config["pad_token_id"]
    positions = golden["position_ids"]
    assert positions.max() < config["max_position_embeddings"]
    assert np.all(positions[golden["input_ids"] == pad] == pad)
    weights = tensor_shapes(family)
    assert weights["embeddings.word_embeddings.weight"] == (vocab, hidden)
    assert weights["embeddings.position_embeddings.weight"] == (
        config["max_position_embeddings"],
        hidden,
    )
    assert weights["encoder.layer.0.intermediate.dense.weight"] == (
        config["intermediate_size"],
        hidden,
    )
    if family == "roberta":
        vocab_file = read_json(family, "vocab.json")
        assert len(vocab_file) == vocab and vocab_file["<mask>"] == vocab - 1


@pytest.mark.parametrize("family", IMAGE_TEXT_FAMILIES)
def test_image_text_shapes_follow_the_config(family):
    config, golden = load_config(family), load_golden(family)
    text, vision = config["text_config"], config["vision_config"]
    count, length = check_token_ids(golden, text["vocab_size"], text["max_position_embeddings"])
    batch, _, height, _ = golden["pixel_values"].shape
    grid = patches(height, vision["patch_size"])
    if family == "clip":
        projection = config["projection_dim"]
        vision_tokens, text_pooled, image_embed = grid + 1, text["hidden_size"], projection
        text_embed = projection
        assert np.shape(golden["logit_scale"]) == ()
        # Each row pools at its first <|endoftext|>, the largest id.
        assert np.all(golden["input_ids"].max(axis=1) == golden["special_tokens"]["eos_token"][1])
    else:
        vision_tokens, text_pooled = grid, text.get("projection_size") or text["hidden_size"]
        image_embed, text_embed = vision["hidden_size"], text_pooled
        assert_shape(golden, "logit_bias", (1,))
    assert_shape(golden, "vision_last_hidden_state", (batch, vision_tokens, vision["hidden_size"]))
    assert_shape(golden, "vision_pooler_output", (batch, vision["hidden_size"]))
    assert_shape(golden, "text_last_hidden_state", (count, length, text["hidden_size"]))
    assert_shape(golden, "text_pooler_output", (count, text_pooled))
    assert_shape(golden, "image_embeds", (batch, image_embed))
    assert_shape(golden, "text_embeds", (count, text_embed))
    assert_shape(golden, "logits_per_image", (batch, count))
    for key in ("image_embeds", "text_embeds"):
        np.testing.assert_allclose(np.linalg.norm(golden[key], axis=-1), 1.0, atol=1e-5)


def conv_output_length(length, kernels, strides):
    for kernel, stride in zip(kernels, strides, strict=True):
        length = (length - kernel) // stride + 1
    return length


@pytest.mark.parametrize("family", AUDIO_FAMILIES)
def test_audio_shapes_follow_the_config(family):
    config, golden = load_config(family), load_golden(family)
    extractor = read_json(family, "preprocessor_config.json")
    rate = golden["sampling_rate"]
    assert rate == extractor["sampling_rate"] == 16000
    waveforms = golden["waveforms"]
    assert [w.dtype for w in waveforms] == [np.int16] * len(waveforms)
    assert [len(w) for w in waveforms] == [16000, 5920]  # 1.0 s and 0.37 s
    batch = len(waveforms)
    if family == "whisper":
        positions, frames = config["max_source_positions"], 2 * config["max_source_positions"]
        assert extractor["chunk_length"] * rate // extractor["hop_length"] == frames
        assert_shape(golden, "input_features", (batch, config["num_mel_bins"], frames))
        assert_shape(golden, "last_hidden_state", (batch, positions, config["d_model"]))
        weights = tensor_shapes(family)
        assert weights["encoder.conv1.weight"] == (config["d_model"], config["num_mel_bins"], 3)
        assert weights["encoder.embed_positions.weight"] == (positions, config["d_model"])
        return
    longest = max(len(w) for w in waveforms)
    assert_shape(golden, "input_values", (batch, longest))
    assert golden["input_lengths"].tolist() == [len(w) for w in waveforms]
    assert golden["return_attention_mask"] == extractor["return_attention_mask"]
    frames = [
        conv_output_length(len(w), config["conv_kernel"], config["conv_stride"]) for w in waveforms
    ]
    assert golden["frame_lengths"].tolist() == frames
    assert_shape(golden, "last_hidden_state", (batch, max(frames), config["hidden_size"]))
    values = golden["input_values"]
    for row, length in zip(values, golden["input_lengths"], strict=True):
        if golden["return_attention_mask"]:
            # Each waveform is normalised over its own samples; the padding stays 0.
            normalised, padding, padding_value = row[:length], row[length:], 0.0
        else:
            # Padded first, then each row normalised as a whole, padding included.
            normalised, padding, padding_value = row, row[length:], row[-1]
        assert abs(normalised.mean()) < 1e-4 and abs(normalised.std() - 1) < 1e-3
        assert np.all(padding == padding_value)
    weights = tensor_shapes(family)
    assert weights["feature_extractor.conv_layers.0.conv.weight"] == (
        config["conv_dim"][0],
        1,
        config["conv_kernel"][0],
    )
    names = {
        "wav2vec2": ("weight_g", "weight_v"),
        "hubert": ("parametrizations.weight.original0", "parametrizations.weight.original1"),
    }[family]
    width = config["num_conv_pos_embeddings"]
    groups = config["num_conv_pos_embedding_groups"]
    hidden = config["hidden_size"]
    assert weights[f"encoder.pos_conv_embed.conv.{names[0]}"] == (1, 1, width)
    assert weights[f"encoder.pos_conv_embed.conv.{names[1]}"] == (hidden, hidden // groups, width)
