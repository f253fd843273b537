"""wav2vec2 and HuBERT branches against the reference outputs in tests/data/pretrained/.

`wav2vec2/` is a base-layout checkpoint (group-norm feature encoder without convolution bias,
post-norm transformer, weight norm stored as `weight_g` / `weight_v`; its extractor returns no
attention mask) and `hubert/` a large-layout one (layer-norm feature encoder with bias, pre-norm
transformer, weight norm stored as `parametrizations.weight.original0/1`; its extractor returns
an attention mask). Each golden holds two waveforms (1.0 s and 0.37 s), the extractor's output
for the zero-padded pair, and the reference's last hidden states for that batch.
"""

import json
import os
import shutil

import numpy as np
import pytest
from pretrained_golden import golden_dir, load_config, load_golden

import mmkeras as mk

FAMILIES = ("wav2vec2", "hubert")
ATOL = 1e-4


class Golden:
    def __init__(self, family):
        self.folder = golden_dir(family)
        golden = load_golden(family)
        scale = np.float32(golden["waveform_scale"])
        self.waveforms = [w.astype("float32") * scale for w in golden["waveforms"]]
        self.lengths = [int(n) for n in golden["input_lengths"]]
        self.frames = [int(n) for n in golden["frame_lengths"]]
        self.masked = golden["return_attention_mask"]
        self.input_values = golden["input_values"]
        self.states = golden["last_hidden_state"]
        self.pre_norm = load_config(family)["do_stable_layer_norm"]

    def padded(self):
        """The waveforms zero-padded to the longest, as a pipeline batches them."""
        longest = max(self.lengths)
        return np.stack([np.pad(w, (0, longest - len(w))) for w in self.waveforms])

    def alone_rows(self):
        """The rows whose reference states are those of the clip alone: every row when the
        reference masks padding; otherwise only the longest (unpadded) one."""
        longest = max(self.lengths)
        return [i for i, n in enumerate(self.lengths) if self.masked or n == longest]


@pytest.fixture(scope="module", params=FAMILIES)
def golden(request):
    return Golden(request.param)


@pytest.fixture(scope="module")
def branch(golden):
    return mk.branches.pretrained(golden.folder, return_sequence=True)


def _numpy(x):
    import keras

    return keras.ops.convert_to_numpy(x)


def test_the_two_layouts_and_weight_norm_namings_are_covered():
    from safetensors import safe_open

    layouts = {}
    for family in FAMILIES:
        config = load_config(family)
        with safe_open(os.path.join(golden_dir(family), "model.safetensors"), framework="np") as f:
            names = list(f.keys())
        legacy = any(name.endswith("pos_conv_embed.conv.weight_g") for name in names)
        layouts[family] = (config["feat_extract_norm"], config["do_stable_layer_norm"], legacy)
    assert layouts == {"wav2vec2": ("group", False, True), "hubert": ("layer", True, False)}


def test_each_waveform_alone_matches_the_reference(golden, branch):
    for i in golden.alone_rows():
        out = branch(golden.waveforms[i][None])
        states = _numpy(out["sequence"])[0]
        assert states.shape == (golden.frames[i], golden.states.shape[-1])
        assert _numpy(out["sequence_mask"]).all()
        np.testing.assert_allclose(states, golden.states[i, : golden.frames[i]], atol=ATOL)
    assert len(golden.alone_rows()) == (2 if golden.masked else 1)


def test_a_padded_batch_gives_each_clip_its_states_alone(golden, branch):
    out = branch(golden.padded())
    states, mask = _numpy(out["sequence"]), _numpy(out["sequence_mask"])
    np.testing.assert_array_equal(mask.sum(axis=1), golden.frames)
    for i, waveform in enumerate(golden.waveforms):
        alone = _numpy(branch(waveform[None])["sequence"])[0]
        np.testing.assert_allclose(states[i, : golden.frames[i]], alone, atol=1e-5)
        if i in golden.alone_rows():
            np.testing.assert_allclose(
                states[i, : golden.frames[i]], golden.states[i, : golden.frames[i]], atol=ATOL
            )


def test_wav2vec2_network_matches_the_reference_on_its_unmasked_padded_input():
    # The group-norm checkpoint's reference runs a padded batch without a mask (normalised over
    # the padding too); the branch masks padding instead (see mmkeras.pretrained.families.
    # wav2vec2). Given the reference's own input and no mask, the network matches it on
    # every row, the padded one included.
    golden = Golden("wav2vec2")
    assert not golden.masked
    network = mk.branches.pretrained(golden.folder).get_layer("encoder")
    batch, samples = golden.input_values.shape
    unmasked = np.full((batch,), samples, "int32")
    states = _numpy(network({"waveform": golden.input_values, "lengths": unmasked}))
    np.testing.assert_allclose(states, golden.states, atol=ATOL)


def test_normalization_layer_equals_the_feature_extractor(golden, branch):
    layer = branch.get_layer("waveform_normalization")
    padded = golden.padded()
    out = _numpy(layer(padded))
    for i in golden.alone_rows():
        np.testing.assert_allclose(out[i], golden.input_values[i], atol=1e-5)
    if not golden.masked:
        # Without a mask the extractor normalises each padded row as a whole.
        whole = np.full((len(padded),), padded.shape[1], "int32")
        np.testing.assert_allclose(
            _numpy(layer(padded, lengths=whole)), golden.input_values, atol=1e-5
        )
        short = int(np.argmin(golden.lengths))
        np.testing.assert_array_equal(out[short, golden.lengths[short] :], 0.0)


def test_spec_arguments_pooling_and_blocks(golden, branch):
    from mmkeras.pretrained.family import family_for
    from mmkeras.pretrained.sources import resolve_source

    source = resolve_source(golden.folder)
    family = family_for(source)
    assert family.modality == "audio" and family.default_pooling == "mean"
    assert family.spec_arguments(source) == {"sample_rate": 16000}
    # The lowest block holds the feature encoder, projection and positional convolution; the
    # encoder's layer norm goes with the lowest block in the post-norm layout (it comes before
    # the transformer layers) and with the top block in the pre-norm layout (after them).
    bottom = ["feature_encoder", "feature_projection", "positional_embedding"]
    bottom += [] if golden.pre_norm else ["encoder_layer_norm"]
    top = ["transformer_layer_1"] + (["encoder_layer_norm"] if golden.pre_norm else [])
    expected = (tuple(bottom + ["transformer_layer_0"]), tuple(top))
    assert branch.trainable_blocks == tuple(
        tuple(f"encoder/{name}" for name in block) for block in expected
    )
    pooled = _numpy(branch(golden.waveforms[0][None])["feature"])[0]
    np.testing.assert_allclose(pooled, golden.states[0, : golden.frames[0]].mean(axis=0), atol=ATOL)


def test_keras_file_round_trip_in_safe_mode(golden, branch, tmp_path):
    import keras

    path = str(tmp_path / "branch.keras")
    branch.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    batch = golden.padded()
    for key in ("feature", "sequence", "sequence_mask"):
        np.testing.assert_array_equal(_numpy(loaded(batch)[key]), _numpy(branch(batch)[key]))


def _train_one_step(model, inputs, targets):
    """Fits one SGD step; returns the paths of the weights it changed."""
    import keras

    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    weights = [v for v in model.weights if "seed_generator" not in v.path]
    before = [_numpy(v).copy() for v in weights]
    model.fit(inputs, targets, epochs=1, batch_size=len(targets), verbose=0)
    return {
        v.path for v, old in zip(weights, before, strict=True) if not np.array_equal(_numpy(v), old)
    }


def test_trainable_1_trains_only_the_top_block(golden):
    branch = mk.branches.pretrained(golden.folder, trainable=1, output_dim=3)
    # The top block: the last transformer layer (with the final layer norm of the pre-norm
    # layout) and the projection head.
    top = {"transformer_layer_1", "feature"} | (
        {"encoder_layer_norm"} if golden.pre_norm else set()
    )
    assert {v.path.split("/")[0] for v in branch.trainable_weights} == top
    changed = _train_one_step(branch, golden.padded(), np.ones((2, 3), "float32"))
    assert {path.split("/")[0] for path in changed} == top


def test_lora_trains_only_the_adapters(golden):
    branch = mk.branches.pretrained(golden.folder, lora_rank=2)
    trainable = sorted(v.path for v in branch.trainable_weights)
    assert trainable == sorted(
        f"transformer_layer_{i}/{projection}/lora_kernel_{ab}"
        for i in range(2) for projection in ("query", "value") for ab in "ab"
    )  # fmt: skip
    changed = _train_one_step(branch, golden.padded(), np.ones((2, 32), "float32"))
    assert changed and all("lora_kernel" in path for path in changed), changed
    # With trainable=1, only the top block's adapters train.
    top = mk.branches.pretrained(golden.folder, lora_rank=2, trainable=1)
    assert sorted(v.path for v in top.trainable_weights) == [
        path for path in trainable if path.startswith("transformer_layer_1/")
    ]


def test_one_training_step_inside_build_model(golden):
    branch = mk.branches.pretrained(golden.folder, trainable=True, output_dim=8)
    model = mk.build_model(
        branches={
            "audio": branch,
            "tabular": mk.branches.tabular_mlp(num_features=3, output_dim=4),
        },
        task=mk.tasks.Classification(num_classes=2),
    )
    inputs = {"audio": golden.padded(), "tabular": np.ones((2, 3), "float32")}
    history = model.fit(inputs, np.array([0, 1]), epochs=1, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model.predict(inputs, verbose=0).shape == (2, 2)


def _copy(golden, tmp_path):
    folder = tmp_path / os.path.basename(golden.folder)
    shutil.copytree(golden.folder, folder)
    return folder


def test_a_task_checkpoint_with_the_base_model_prefix_loads_the_same(golden, branch, tmp_path):
    from safetensors.numpy import load_file, save_file

    folder = _copy(golden, tmp_path)
    name = branch.pretrained_family
    path = folder / "model.safetensors"
    tensors = {f"{name}.{key}": value for key, value in load_file(str(path)).items()}
    tensors["lm_head.weight"] = np.zeros((32, 32), "float32")  # a head the encoder ignores
    save_file(tensors, str(path))
    reloaded = mk.branches.pretrained(str(folder), return_sequence=True)
    waveform = golden.waveforms[0][None]
    np.testing.assert_array_equal(_numpy(reloaded(waveform)["sequence"]),
                                  _numpy(branch(waveform)["sequence"]))  # fmt: skip


def _with_config(golden, tmp_path, **changes):
    folder = _copy(golden, tmp_path)
    with open(folder / "config.json", encoding="utf-8") as f:
        config = json.load(f)
    config.update(changes)
    with open(folder / "config.json", "w", encoding="utf-8") as f:
        json.dump(config, f)
    return str(folder)


@pytest.mark.parametrize(
    "changes, message",
    [({"add_adapter": True}, "add_adapter"), ({"adapter_attn_dim": 16}, "adapter_attn_dim"),
     ({"feat_extract_norm": "batch"}, "feat_extract_norm"), ({"hidden_act": "mish"}, "hidden_act")],
)  # fmt: skip
def test_unsupported_configs_are_named(golden, tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        mk.branches.pretrained(_with_config(golden, tmp_path, **changes))


def test_a_missing_weight_is_named(golden, tmp_path):
    from safetensors.numpy import load_file, save_file

    folder = _copy(golden, tmp_path)
    tensors = load_file(str(folder / "model.safetensors"))
    del tensors["encoder.layers.1.final_layer_norm.bias"]
    save_file(tensors, str(folder / "model.safetensors"))
    with pytest.raises(ValueError, match="encoder.layers.1.final_layer_norm.bias"):
        mk.branches.pretrained(str(folder))


def test_waveform_length_and_rate_options(golden):
    with pytest.raises(ValueError, match="at least 400 samples"):
        mk.branches.pretrained(golden.folder, input_shape=(399,))
    with pytest.raises(ValueError, match="at least 400 samples"):
        mk.branches.pretrained(golden.folder, duration=0.02)
    with pytest.raises(ValueError, match="16000 Hz"):
        mk.branches.pretrained(golden.folder, sample_rate=8000)
    with pytest.raises(ValueError, match="max_length"):
        mk.branches.pretrained(golden.folder, max_length=16)
    fixed = mk.branches.pretrained(golden.folder, duration=1.0, sample_rate=16000)
    assert fixed.input_shape == (None, 16000)
    assert mk.branches.pretrained(golden.folder, input_shape=(8000,)).input_shape == (None, 8000)


def test_a_silent_clip_is_real_throughout(branch):
    out = branch(np.zeros((1, 4000), "float32"))
    assert _numpy(out["sequence_mask"]).all()
    assert np.isfinite(_numpy(out["feature"])).all()
