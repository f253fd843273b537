"""Where a pretrained checkpoint comes from, and the errors when it cannot be had."""

import socket
import time

import pytest
from pretrained_golden import golden_dir as checkpoint_folder

from mmkeras import downloads
from mmkeras.errors import DownloadError
from mmkeras.pretrained import family_for, resolve_source


def test_a_local_hugging_face_folder_resolves_to_its_family():
    source = resolve_source(checkpoint_folder("roberta"))
    assert source.format == "transformers" and source.is_local
    assert source.model_type == "roberta"
    assert family_for(source).name == "roberta"
    assert source.file("config.json") and source.file("no_such_file") is None


def test_a_folder_without_config_names_what_a_checkpoint_folder_holds(tmp_path):
    with pytest.raises(ValueError, match="has no config.json.*model_type.*save_to_preset"):
        resolve_source(str(tmp_path))


def test_a_config_of_neither_kind_is_refused(tmp_path):
    (tmp_path / "config.json").write_text('{"hidden_size": 8}')
    with pytest.raises(ValueError, match="neither a `model_type`.*nor a `registered_name`"):
        resolve_source(str(tmp_path))


def test_an_unknown_model_type_lists_the_families(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}')
    with pytest.raises(ValueError, match="no encoder family for model_type 'gpt2'.*roberta.*vit"):
        family_for(resolve_source(str(tmp_path)))


def test_a_misspelt_preset_name_suggests_close_names():
    with pytest.raises(ValueError, match="not a keras-hub preset name.*dinov2_small"):
        resolve_source("dinov2_smal")


@pytest.mark.parametrize("bad", [None, "", 3, "  "])
def test_a_source_that_is_not_a_string_is_refused(bad):
    with pytest.raises(ValueError, match="`source` must be a keras-hub preset name"):
        resolve_source(bad)


def test_offline_a_hugging_face_id_not_in_the_cache_fails_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    start = time.monotonic()
    with pytest.raises(DownloadError) as error:
        resolve_source("hf://FacebookAI/roberta-base")
    assert time.monotonic() - start < 5
    message = str(error.value)
    assert "offline mode is set (HF_HUB_OFFLINE=1)" in message
    assert (
        "(1) network access" in message
        and "(2) the checkpoint in the Hugging Face cache" in message
    )
    assert "(3) a local folder" in message


def test_a_cached_hugging_face_snapshot_loads_without_network(tmp_path, monkeypatch):
    """A checkpoint in the Hugging Face cache layout resolves offline, to its snapshot folder."""
    import shutil

    from huggingface_hub import constants

    cache = tmp_path / "hub"
    repo = cache / "models--someone--tiny-roberta"
    snapshot = repo / "snapshots" / ("a" * 40)
    shutil.copytree(checkpoint_folder("roberta"), snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    source = resolve_source("hf://someone/tiny-roberta")
    assert source.location == str(snapshot) and source.model_type == "roberta"


def test_check_reachable_names_the_host_when_it_does_not_answer(monkeypatch):
    def unreachable(address, timeout=None):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("MMKERAS_OFFLINE", raising=False)
    with pytest.raises(DownloadError, match="cannot connect to huggingface.co:443.*Network is"):
        downloads.check_reachable("https://huggingface.co", "x", ["a", "b"])


@pytest.mark.parametrize("value, offline", [("1", True), ("true", True), ("0", False), ("", False)])
def test_offline_switches(monkeypatch, value, offline):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("MMKERAS_OFFLINE", value)
    assert bool(downloads.offline_variables()) is offline


def test_a_locally_saved_keras_hub_preset_loads_like_its_hugging_face_checkpoint(tmp_path):
    """A keras-hub preset folder (`save_to_preset`) with its image converter."""
    import keras
    import keras_hub
    import numpy as np

    import mmkeras as mk

    hf_branch = mk.branches.pretrained(checkpoint_folder("vit"))
    encoder = hf_branch.get_layer("encoder")
    preset = str(tmp_path / "vit_preset")
    encoder.save_to_preset(preset)
    normalization = hf_branch.get_layer("image_normalization")
    converter = keras_hub.layers.ViTImageConverter(
        image_size=(32, 32), scale=normalization.scale, offset=normalization.offset
    )
    converter.save_to_preset(preset)
    source = resolve_source(preset)
    assert source.format == "keras_hub" and source.backbone_class == "ViTBackbone"
    branch = mk.branches.pretrained(preset)
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(branch(images)),
        keras.ops.convert_to_numpy(hf_branch(images)),
        atol=1e-6,
    )


def test_an_audio_spec_from_a_whisper_checkpoint_takes_its_rate_and_chunk():
    import json

    import mmkeras as mk

    folder = checkpoint_folder("whisper")
    with open(f"{folder}/preprocessor_config.json") as f:
        processor = json.load(f)
    spec = mk.data.AudioSpec.from_pretrained(folder)
    assert spec.sample_rate == processor["sampling_rate"]
    assert spec.duration == processor["chunk_length"]
    branch = mk.branches.pretrained(folder)
    assert mk.data.AudioSpec.from_pretrained(branch).sample_rate == spec.sample_rate
    with pytest.raises(ValueError, match="takes 1.* s of audio; received duration=5"):
        mk.data.AudioSpec.from_pretrained(folder, duration=5)
    with pytest.raises(ValueError, match="`sample_rate` comes from the checkpoint"):
        mk.data.AudioSpec.from_pretrained(folder, sample_rate=8000)
    with pytest.raises(ValueError, match="has no audio encoder"):
        mk.data.AudioSpec.from_pretrained(checkpoint_folder("vit"))


def test_offline_a_preset_in_the_kagglehub_cache_resolves(tmp_path, monkeypatch):
    folder = tmp_path / "models" / "someone" / "tiny" / "keras" / "tiny_en" / "2"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"class_name": "ViTBackbone"}')
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path))
    monkeypatch.setenv("MMKERAS_OFFLINE", "1")
    source = resolve_source("kaggle://someone/tiny/keras/tiny_en/2")
    assert (
        source.format == "keras_hub" and source.location == "kaggle://someone/tiny/keras/tiny_en/2"
    )
    with pytest.raises(DownloadError, match="offline mode is set"):
        resolve_source("kaggle://someone/other/keras/other_en/1")
