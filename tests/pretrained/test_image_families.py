"""ViT, DeiT and DINOv2 branches against the reference outputs of tiny random checkpoints.

The folders in tests/data/pretrained hold a tiny random Hugging Face checkpoint per family and
what `transformers` computes from its raw images (scripts/make_pretrained_golden.py). Each
branch starts from the raw 0..255 pixels and normalises them itself.
"""

import os
import subprocess
import sys

import family_checks as checks
import keras
import numpy as np
import pytest
from pretrained_golden import golden_dir

import mmkeras as mk
from mmkeras.branches import trainable_blocks
from mmkeras.pretrained.position_tables import bicubic_matrix, resize_position_table

FAMILIES = ("vit", "deit", "dinov2")
TOLERANCE = 1e-4


goldens, branches = checks.golden_fixtures(FAMILIES)


def raw_images(golden):
    """The golden's uint8 images as float pixels, centre-cropped as its image processor does."""
    images = golden["images"].astype("float32")
    size = golden["pixel_values"].shape[-1]
    top = (images.shape[1] - size) // 2
    return images[:, top : top + size, top : top + size]


@pytest.mark.parametrize("family", FAMILIES)
def test_the_branch_normalises_pixels_as_the_image_processor(family, goldens, branches):
    branch = branches[family]
    normalise = keras.Model(branch.input, branch.get_layer("image_normalization").output)
    pixels = normalise.predict(raw_images(goldens[family]), verbose=0)
    expected = goldens[family]["pixel_values"].transpose(0, 2, 3, 1)
    assert checks.max_difference(pixels, expected) < 1e-5


@pytest.mark.parametrize("family", FAMILIES)
def test_last_hidden_state_matches_the_reference_from_raw_pixels(family, goldens, branches):
    golden = goldens[family]
    out = branches[family].predict(raw_images(golden), verbose=0)
    expected = golden["last_hidden_state"]
    assert out["sequence"].shape == expected.shape
    assert checks.max_difference(out["sequence"], expected) < TOLERANCE
    assert out["sequence_mask"].all()
    # The default pooling is the class token's state (position 0).
    np.testing.assert_array_equal(out["feature"], out["sequence"][:, 0])


def test_deit_sequence_holds_the_class_and_distillation_tokens(goldens, branches):
    golden = goldens["deit"]
    out = branches["deit"].predict(raw_images(golden), verbose=0)
    patches = (32 // 8) ** 2
    assert out["sequence"].shape[1] == 2 + patches
    assert (
        checks.max_difference(out["sequence"][:, 1], golden["last_hidden_state"][:, 1]) < TOLERANCE
    )


def test_vit_pooler_is_the_checkpoints_pooling_head(goldens):
    golden = goldens["vit"]
    branch = mk.branches.pretrained(golden_dir("vit"), pooling="pooler")
    pooled = branch.predict(raw_images(golden), verbose=0)
    assert checks.max_difference(pooled, golden["pooler_output"]) < TOLERANCE


def test_dinov2_pooler_is_the_class_token_after_the_final_layernorm(goldens):
    golden = goldens["dinov2"]
    for pooling in ("pooler", "cls"):
        branch = mk.branches.pretrained(golden_dir("dinov2"), pooling=pooling)
        pooled = branch.predict(raw_images(golden), verbose=0)
        assert checks.max_difference(pooled, golden["pooler_output"]) < TOLERANCE


def test_deit_without_a_pooling_head_refuses_pooler():
    with pytest.raises(ValueError, match=r"pooling='pooler' is not available.*\['mean', 'cls'\]"):
        mk.branches.pretrained(golden_dir("deit"), pooling="pooler")


def test_dinov2_at_its_checkpoint_size_matches_without_resampling(goldens):
    golden = goldens["dinov2"]
    side = golden["checkpoint_image_size"]
    branch = mk.branches.pretrained(
        golden_dir("dinov2"), return_sequence=True, input_shape=(side, side, 3)
    )
    out = branch.predict(golden["images"].astype("float32"), verbose=0)
    expected = golden["checkpoint_size_last_hidden_state"]
    assert out["sequence"].shape == expected.shape
    assert checks.max_difference(out["sequence"], expected) < TOLERANCE
    assert (
        checks.max_difference(out["feature"], golden["checkpoint_size_pooler_output"]) < TOLERANCE
    )


def test_dinov2_default_size_is_the_image_processors_crop(goldens, branches):
    crop = goldens["dinov2"]["pixel_values"].shape[-1]
    assert crop != goldens["dinov2"]["checkpoint_image_size"]  # the table is resampled
    assert branches["dinov2"].input_shape == (None, crop, crop, 3)


@pytest.mark.parametrize(
    "shape", [(30, 30, 3), (28, 32, 3), (28, 28, 1), (28, 28), (28.0, 28.0, 3)]
)
def test_dinov2_refuses_sizes_its_patches_cannot_tile(shape):
    with pytest.raises(ValueError, match=r"square RGB images whose side is a multiple of"):
        mk.branches.pretrained(golden_dir("dinov2"), input_shape=shape)


@pytest.mark.parametrize("family", ("vit", "deit"))
def test_fixed_size_families_refuse_another_size(family):
    with pytest.raises(ValueError, match=r"takes images of \(32, 32, 3\)"):
        mk.branches.pretrained(golden_dir(family), input_shape=(64, 64, 3))


@pytest.mark.parametrize(
    ("family", "key", "value"),
    [
        ("deit", "hidden_act", "gelu_new"),
        ("deit", "qkv_bias", False),
        ("dinov2", "hidden_act", "relu"),
        ("dinov2", "layer_norm_eps", 1e-5),
    ],
)
def test_checkpoints_keras_hub_cannot_reproduce_are_refused(family, key, value, tmp_path):
    folder = checks.changed_checkpoint(family, key, value, tmp_path)
    with pytest.raises(ValueError, match=rf"{key}={value!r} are not supported"):
        mk.branches.pretrained(folder)


@pytest.mark.parametrize("family", FAMILIES)
def test_keras_round_trip_gives_identical_outputs(family, goldens, tmp_path):
    branch = mk.branches.pretrained(golden_dir(family), output_dim=4, return_sequence=True)
    images = raw_images(goldens[family])
    checks.check_round_trip(branch, images, tmp_path / "branch.keras", ("feature", "sequence"))


def test_a_trained_dinov2_position_table_survives_saving(goldens, tmp_path):
    # keras-hub's own DINOv2 keeps a trained table only when the sum of its changes is
    # positive; mmkeras's network stores it whatever the sign.
    branch = mk.branches.pretrained(golden_dir("dinov2"), trainable=True)
    table = branch.get_layer("dinov2").embeddings.interpolated_position_embeddings
    for change in (-0.01, 0.03):
        table.assign(table + change)
        images = raw_images(goldens["dinov2"])
        before = branch.predict(images, verbose=0)
        path = tmp_path / f"trained{change}.keras"
        branch.save(path)
        after = keras.saving.load_model(path, safe_mode=True).predict(images, verbose=0)
        np.testing.assert_array_equal(after, before)


def test_every_network_a_family_registers_has_its_stand_in():
    import importlib

    from mmkeras.pretrained.saved_networks import NETWORKS

    registry = keras.saving.get_custom_objects()
    for name, (module, class_name) in NETWORKS.items():
        network_class = getattr(importlib.import_module(module), class_name)
        assert keras.saving.get_registered_name(network_class) == name
        assert registry[name] is network_class  # the family, once imported, replaces it


@pytest.mark.slow
def test_a_saved_dinov2_branch_loads_in_a_fresh_process(goldens, tmp_path):
    images = raw_images(goldens["dinov2"])
    branch = mk.branches.pretrained(golden_dir("dinov2"))
    np.save(tmp_path / "expected.npy", branch.predict(images, verbose=0))
    np.save(tmp_path / "images.npy", images)
    branch.save(tmp_path / "branch.keras")
    # Plain Keras loading, once mmkeras.models is imported (which does not import keras-hub).
    script = (
        "import sys, keras, numpy as np, mmkeras.models\n"
        "assert 'keras_hub' not in sys.modules\n"
        f"model = keras.saving.load_model({str(tmp_path / 'branch.keras')!r}, safe_mode=True)\n"
        f"out = model.predict(np.load({str(tmp_path / 'images.npy')!r}), verbose=0)\n"
        f"np.testing.assert_array_equal(out, np.load({str(tmp_path / 'expected.npy')!r}))\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]


PRESET_CONVERTERS = {
    "vit": ("ViTImageConverter", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "deit": ("DeiTImageConverter", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "dinov2": ("DINOV2ImageConverter", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}


@pytest.mark.parametrize("family", FAMILIES)
def test_a_keras_hub_preset_folder_matches_too(family, goldens, tmp_path):
    """A keras-hub preset (backbone and image converter) made from the reference checkpoint.

    DINOv2's preset is at the crop size with the checkpoint's table, as keras-hub's presets
    are (224 pixels, a 518-pixel table): the branch resamples the stored table itself.
    """
    import keras_hub

    from mmkeras import compat
    from mmkeras.pretrained import family_for, resolve_source

    golden = goldens[family]
    side = golden["pixel_values"].shape[-1]
    source = resolve_source(golden_dir(family))
    # The backbone as a correct conversion holds it (ViT's epsilon), at the crop size.
    overrides = {**family_for(source).config_overrides(source), "image_shape": (side, side, 3)}
    backbone = compat.load_hf_backbone(source.location, source.config, overrides=overrides)
    backbone.save_to_preset(str(tmp_path))
    converter_name, mean, std = PRESET_CONVERTERS[family]
    converter = getattr(keras_hub.layers, converter_name)(
        image_size=(side, side),
        scale=[1 / (255 * s) for s in std],
        offset=[-m / s for m, s in zip(mean, std, strict=True)],
    )
    converter.save_to_preset(str(tmp_path))

    branch = mk.branches.pretrained(str(tmp_path), return_sequence=True)
    assert branch.input_shape == (None, side, side, 3)
    out = branch.predict(raw_images(golden), verbose=0)
    assert checks.max_difference(out["sequence"], golden["last_hidden_state"]) < TOLERANCE
    assert mk.data.ImageSpec.from_pretrained(str(tmp_path)).size == (side, side)


@pytest.mark.parametrize("family", FAMILIES)
def test_trainable_settings_choose_the_weights_that_train(family):
    fixed = {"dinov2_embeddings/position_embeddings"} if family == "dinov2" else set()
    checks.check_trainable_settings(family, fixed)


@pytest.mark.parametrize("family", FAMILIES)
def test_lora_trains_only_the_adapters_and_the_projection(family, goldens):
    checks.check_lora_trains_only_the_adapters(family, raw_images(goldens[family]))


def test_a_frozen_pooling_head_stays_frozen_with_lora():
    branch = mk.branches.pretrained(golden_dir("vit"), pooling="pooler", output_dim=4)
    assert checks.paths(branch.trainable_weights) == {"feature/kernel", "feature/bias"}
    assert "pooler" in {layer.name for layer in trainable_blocks(branch)[-2]}
    lora = mk.branches.pretrained(golden_dir("vit"), pooling="pooler", lora_rank=2, output_dim=4)
    assert not {p for p in checks.paths(lora.trainable_weights) if p.startswith("pooler/")}
    tuned = mk.branches.pretrained(golden_dir("vit"), pooling="pooler", trainable=1)
    assert {"pooler/kernel", "pooler/bias"} <= checks.paths(tuned.trainable_weights)


# The matrices with which torch 2.13 resamples a row of 4 to 3 (`interpolate(mode="bicubic",
# align_corners=False)`, without and with `antialias=True`), read off from one-hot inputs once.
TORCH_BICUBIC_4_TO_3 = [
    [0.8564817, 0.1608797, -0.0173612, 0.0],
    [-0.09375, 0.59375, 0.59375, -0.09375],
    [0.0, -0.0173607, 0.1608795, 0.8564816],
]
TORCH_BICUBIC_ANTIALIAS_4_TO_3 = [
    [0.7528604, 0.3043478, -0.0572082, 0.0],
    [-0.0352012, 0.5352011, 0.5352011, -0.0352012],
    [0.0, -0.0572081, 0.3043477, 0.7528605],
]


def test_bicubic_matrix_reproduces_pytorch():
    np.testing.assert_allclose(bicubic_matrix(4, 3), TORCH_BICUBIC_4_TO_3, atol=1e-6)
    np.testing.assert_allclose(
        bicubic_matrix(4, 3, antialias=True), TORCH_BICUBIC_ANTIALIAS_4_TO_3, atol=1e-6
    )
    for antialias in (False, True):
        for source, target in ((7, 16), (16, 7), (5, 5)):
            matrix = bicubic_matrix(source, target, antialias)
            np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(bicubic_matrix(5, 5), np.eye(5), atol=1e-12)


def test_resize_position_table_keeps_the_class_row():
    table = np.random.default_rng(0).normal(size=(1, 1 + 16, 3)).astype("float32")
    resized = resize_position_table(table, (3, 5))
    assert resized.shape == (1, 1 + 15, 3)
    np.testing.assert_array_equal(resized[:, 0], table[:, 0])
    np.testing.assert_array_equal(resize_position_table(table, (4, 4)), table)
    with pytest.raises(ValueError, match="not a square grid"):
        resize_position_table(table[:, :-1], (3, 3))
