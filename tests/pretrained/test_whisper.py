"""The Whisper family against the reference: a tiny random Hugging Face checkpoint and its
outputs in tests/data/pretrained/whisper (scripts/make_pretrained_golden.py), from raw waveforms."""

import keras
import numpy as np
import pytest
from pretrained_golden import golden_dir, load_golden

import mmkeras as mk
from mmkeras.layers.modeling import WhisperLogMel
from mmkeras.pretrained import family_for, resolve_source

ATOL = 1e-4


@pytest.fixture(scope="module")
def golden():
    return load_golden("whisper")


@pytest.fixture(scope="module")
def waveforms(golden):
    """The golden's waveforms as the reference read them: int16 * scale, float32."""
    scale = np.float32(golden["waveform_scale"])
    return [w.astype(np.float32) * scale for w in golden["waveforms"]]


@pytest.fixture(scope="module")
def branch():
    return mk.branches.pretrained(golden_dir("whisper"), return_sequence=True)


def sequence(branch, wave):
    return keras.ops.convert_to_numpy(branch(wave[None])["sequence"])[0]


def test_source_resolves_to_the_whisper_family():
    source = resolve_source(golden_dir("whisper"))
    family = family_for(source)
    assert family.name == "whisper" and family.modality == "audio"
    assert family.spec_arguments(source) == {"sample_rate": 16000, "duration": 1.0}
    spec = mk.data.AudioSpec(**family.spec_arguments(source))
    assert spec.num_samples == 16000


def test_log_mel_equals_the_feature_extractor(golden, waveforms):
    layer = WhisperLogMel(sample_rate=16000, num_mel_bins=80, num_samples=16000)
    reference = golden["input_features"].transpose(0, 2, 1)  # (batch, mels, frames) there
    for wave, expected in zip(waveforms, reference, strict=True):
        got = keras.ops.convert_to_numpy(layer(wave[None]))[0]
        assert got.shape == expected.shape == (100, 80)
        np.testing.assert_allclose(got, expected, atol=ATOL, rtol=0)


def test_branch_computes_the_features_of_the_checkpoint(branch, golden, waveforms):
    features = keras.Model(branch.input, branch.get_layer("log_mel").output)
    expected = golden["input_features"].transpose(0, 2, 1)
    got = keras.ops.convert_to_numpy(features(waveforms[0][None]))
    np.testing.assert_allclose(got[0], expected[0], atol=ATOL, rtol=0)


def test_encoder_output_from_the_raw_waveform(branch, golden, waveforms):
    assert len(waveforms[0]) == 16000
    got = sequence(branch, waveforms[0])
    assert got.shape == golden["last_hidden_state"][0].shape == (50, 32)
    np.testing.assert_allclose(got, golden["last_hidden_state"][0], atol=ATOL, rtol=0)


def test_a_shorter_waveform_is_padded_as_the_reference_pads_it(branch, golden, waveforms):
    short = waveforms[1]
    assert len(short) == 5920  # 0.37 s; the reference zero-pads it to the 1 s chunk
    got = sequence(branch, short)
    np.testing.assert_allclose(got, golden["last_hidden_state"][1], atol=ATOL, rtol=0)
    padded = np.pad(short, (0, 16000 - len(short)))
    out = branch(padded[None])
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(out["sequence"])[0], got, atol=1e-5, rtol=0
    )
    # Positions centred on real audio (one per 320 samples) are real, the rest padding.
    mask = keras.ops.convert_to_numpy(out["sequence_mask"])[0]
    np.testing.assert_array_equal(mask, np.arange(50) < 19)


def test_mean_pooling_averages_the_real_positions(branch, golden, waveforms):
    pooled = mk.branches.pretrained(golden_dir("whisper"))
    assert pooled.output_shape == (None, 32)
    got = keras.ops.convert_to_numpy(pooled(waveforms[1][None]))[0]
    expected = golden["last_hidden_state"][1][:19].mean(axis=0)
    np.testing.assert_allclose(got, expected, atol=ATOL, rtol=0)


def test_keras_round_trip_in_safe_mode(tmp_path, waveforms):
    model = mk.branches.pretrained(golden_dir("whisper"), output_dim=8, return_sequence=True)
    wave = waveforms[1][None]
    before = model(wave)
    path = tmp_path / "whisper.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    after = loaded(wave)
    for key in ("feature", "sequence", "sequence_mask"):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(after[key]), keras.ops.convert_to_numpy(before[key])
        )


def trainable_paths(model):
    return sorted(v.path for v in model.trainable_weights)


def test_trainable_1_trains_only_the_top_encoder_layer():
    model = mk.branches.pretrained(golden_dir("whisper"), trainable=1)
    paths = trainable_paths(model)
    # Variable paths start at the encoder's layers: its top block and its final layer norm.
    assert paths and all(p.startswith(("layer_1/", "layer_norm/")) for p in paths), paths
    assert any(p.startswith("layer_norm/") for p in paths)
    everything = mk.branches.pretrained(golden_dir("whisper"), trainable=True)
    everything_paths = trainable_paths(everything)
    assert any(p.startswith("conv1/") for p in everything_paths)
    # The position table stays fixed, as in the reference.
    assert not any("embed_positions" in p for p in everything_paths)


def test_lora_trains_only_the_adapters(waveforms):
    model = mk.branches.pretrained(golden_dir("whisper"), lora_rank=2)
    variables = model.trainable_weights
    paths = sorted(v.path for v in variables)
    # Two layers, query and value each, two factors each.
    assert len(variables) == 8 and all(v.name.startswith("lora_kernel") for v in variables), paths
    assert {p.split("/")[-2] for p in paths} == {"query", "value"}
    frozen = {v.path: keras.ops.convert_to_numpy(v) for v in model.non_trainable_weights}
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    wave = np.stack(waveforms[:1] * 2)
    model.fit(wave, np.ones((2, 32), "float32"), epochs=1, verbose=0)
    for variable in model.non_trainable_weights:
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), frozen[variable.path])
    assert any(np.any(keras.ops.convert_to_numpy(v) != 0) for v in variables if "_b" in v.name)


def test_branch_trains_in_a_multimodal_model(waveforms):
    audio = mk.branches.pretrained(golden_dir("whisper"), trainable=1, output_dim=8)
    table = mk.branches.tabular_mlp(num_features=3, hidden_units=(8,), output_dim=8)
    model = mk.build_model(
        branches={"audio": audio, "table": table},
        fusion="concat",
        task=mk.tasks.Classification(num_classes=2),
    )
    inputs = {
        "audio": np.stack([waveforms[0], np.pad(waveforms[1], (0, 16000 - 5920))]),
        "table": np.ones((2, 3), "float32"),
    }
    top = model.get_layer(audio.name).get_layer("whisper_encoder").get_layer("layer_1")
    before = [keras.ops.convert_to_numpy(v) for v in top.trainable_weights]
    history = model.fit(inputs, np.array([0, 1]), epochs=1, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = [keras.ops.convert_to_numpy(v) for v in top.trainable_weights]
    assert any(np.any(a != b) for a, b in zip(after, before, strict=True))


def test_clear_errors():
    with pytest.raises(ValueError, match="max_length=8 is for text"):
        mk.branches.pretrained(golden_dir("whisper"), max_length=8)
    with pytest.raises(ValueError, match=r"input_shape must be \(samples,\)"):
        mk.branches.pretrained(golden_dir("whisper"), input_shape=(16000, 1))
    with pytest.raises(ValueError, match="pooling='cls' is not available"):
        mk.branches.pretrained(golden_dir("whisper"), pooling="cls")


def test_a_fixed_input_length(waveforms):
    model = mk.branches.pretrained(golden_dir("whisper"), input_shape=(5920,))
    assert model.input_shape == (None, 5920)


def rewrite_checkpoint(folder, tmp_path, rename, shards=1):
    """A copy of the golden checkpoint whose tensors are renamed (and split into shards)."""
    import json
    import shutil

    from safetensors.numpy import load_file, save_file

    out = tmp_path / "checkpoint"
    shutil.copytree(folder, out)
    tensors = {rename(k): v for k, v in load_file(str(out / "model.safetensors")).items()}
    (out / "model.safetensors").unlink()
    if shards == 1:
        save_file(tensors, str(out / "model.safetensors"))
        return out
    names = sorted(tensors)
    weight_map = {}
    for i in range(shards):
        shard = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        part = {n: tensors[n] for n in names[i::shards]}
        save_file(part, str(out / shard))
        weight_map.update(dict.fromkeys(part, shard))
    (out / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    return out


def test_a_task_checkpoint_in_shards(tmp_path, golden, waveforms):
    # WhisperForConditionalGeneration keeps the encoder under "model.encoder.".
    folder = rewrite_checkpoint(golden_dir("whisper"), tmp_path, lambda k: "model." + k, shards=2)
    assert not (folder / "model.safetensors").exists()
    model = mk.branches.pretrained(str(folder), return_sequence=True)
    np.testing.assert_allclose(
        sequence(model, waveforms[0]), golden["last_hidden_state"][0], atol=ATOL, rtol=0
    )


def test_a_checkpoint_without_an_encoder_is_refused(tmp_path):
    folder = rewrite_checkpoint(
        golden_dir("whisper"), tmp_path, lambda k: k.replace("encoder", "e")
    )
    with pytest.raises(ValueError, match="no Whisper encoder in the checkpoint"):
        mk.branches.pretrained(str(folder))


def tiny_keras_hub_backbone():
    import keras_hub

    backbone = keras_hub.models.WhisperBackbone(
        vocabulary_size=16,
        num_layers=2,
        num_heads=2,
        hidden_dim=8,
        intermediate_dim=11,
        max_encoder_sequence_length=100,
        max_decoder_sequence_length=4,
    )
    rng = np.random.default_rng(0)
    for variable in backbone.weights:  # no zero bias or unit scale left
        offset = 1.0 if variable.path.endswith("gamma") else 0.0
        variable.assign(offset + 0.3 * rng.normal(size=variable.shape).astype("float32"))
    return backbone


def test_a_keras_hub_preset(tmp_path, waveforms):
    import keras_hub

    backbone = tiny_keras_hub_backbone()
    converter = keras_hub.layers.WhisperAudioConverter(max_audio_length=1)
    backbone.save_to_preset(str(tmp_path))
    converter.save_to_preset(str(tmp_path))
    source = resolve_source(str(tmp_path))
    assert family_for(source).name == "whisper"
    assert family_for(source).spec_arguments(source) == {"sample_rate": 16000, "duration": 1.0}
    model = mk.branches.pretrained(str(tmp_path), return_sequence=True)
    encoder = keras.Model(
        backbone.input["encoder_features"], backbone.output["encoder_sequence_output"]
    )
    wave = np.stack([waveforms[0], np.pad(waveforms[1], (0, 16000 - 5920))])
    expected = keras.ops.convert_to_numpy(encoder(converter(wave)))
    got = keras.ops.convert_to_numpy(model(wave)["sequence"])
    np.testing.assert_allclose(got, expected, atol=ATOL, rtol=0)


def test_a_keras_hub_preset_without_its_audio_converter(tmp_path):
    tiny_keras_hub_backbone().save_to_preset(str(tmp_path))
    source = resolve_source(str(tmp_path))
    # Released Whisper's extractor settings, cut to the backbone's 100 frames (1 s).
    assert family_for(source).spec_arguments(source) == {"sample_rate": 16000, "duration": 1.0}
    assert mk.branches.pretrained(str(tmp_path)).output_shape == (None, 8)
