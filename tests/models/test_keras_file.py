"""A `.keras` path that cannot be a model gets its own words, not "file not found"."""

import pytest

import mmkeras as mk


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    path = tmp_path_factory.mktemp("m") / "m.keras"
    model.save(path)
    return path


def test_a_truncated_file_is_reported_as_truncated(saved, tmp_path):
    cut = tmp_path / "cut.keras"
    cut.write_bytes(saved.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"is not a complete \.keras file \(200 bytes") as info:
        mk.load_model(cut)
    assert "File not found" not in str(info.value)


def test_a_zip_without_a_model_is_refused(tmp_path):
    import zipfile

    path = tmp_path / "other.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("notes.txt", "hello")
    with pytest.raises(ValueError, match="it lacks config.json, metadata.json"):
        mk.load_model(path)


def test_a_folder_and_a_missing_file_are_told_apart(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder, not a .keras file"):
        mk.load_model(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such .keras file"):
        mk.load_model(tmp_path / "absent.keras")


def test_a_complete_file_loads(saved):
    assert mk.load_model(saved).output_shape == (None, 2)
