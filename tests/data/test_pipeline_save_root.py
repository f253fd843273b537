"""A saved pipeline finds its data root from any working directory."""

import json
import os

import pytest

import mmkeras as mk


@pytest.fixture
def project(tmp_path, files, monkeypatch):
    """`project/data/` with WAVs, a manifest of paths relative to it, and the project as cwd."""
    data = tmp_path / "project" / "data"
    data.mkdir(parents=True)
    for i in range(3):
        files.write_wav(data / f"{i}.wav", 300.0 * (i + 1), seconds=0.15)
    rows = [{"wav": f"{i}.wav", "label": "ab"[i % 2]} for i in range(3)]
    monkeypatch.chdir(tmp_path / "project")
    return tmp_path, rows


def make_pipe(root):
    return mk.data.Pipeline(
        schema={"audio": "wav", "label": "label"},
        audio=mk.data.AudioSpec(sample_rate=8000, duration=0.1),
        root=root,
    )


def labels_of(ds):
    return [int(y) for _, ys in ds for y in ys.numpy()]


def test_load_from_another_working_directory_keeps_the_root(project, monkeypatch):
    tmp_path, rows = project
    pipe = make_pipe("data")  # relative to the working directory
    pipe.adapt(rows)
    pipe.save("saved_pipe")
    config = json.loads((tmp_path / "project" / "saved_pipe" / "pipeline.json").read_text())
    assert config["root"] == "data"
    assert config["root_abspath"] == str(tmp_path / "project" / "data")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    loaded = mk.data.Pipeline.load(str(tmp_path / "project" / "saved_pipe"))
    assert loaded.root == str(tmp_path / "project" / "data")
    assert loaded.validate(rows).ok
    assert labels_of(loaded.dataset(rows, batch_size=3)) == [0, 1, 0]


def test_save_without_root_keeps_the_manifest_folder_rule(project, files, monkeypatch):
    tmp_path, rows = project
    files.write_csv(tmp_path / "project" / "data" / "train.csv", rows)
    pipe = make_pipe(None)
    pipe.adapt("data/train.csv")
    pipe.save("saved_pipe")
    monkeypatch.chdir(tmp_path)
    loaded = mk.data.Pipeline.load("project/saved_pipe")
    assert loaded.root is None
    assert labels_of(loaded.dataset("project/data/train.csv", batch_size=3)) == [0, 1, 0]


def test_older_saves_without_the_field_load_as_before(project):
    tmp_path, rows = project
    pipe = make_pipe("data")
    pipe.adapt(rows)
    pipe.save("saved_pipe")
    path = tmp_path / "project" / "saved_pipe" / "pipeline.json"
    config = json.loads(path.read_text())
    for key in ("root_abspath", "delimiter", "confine_paths"):
        del config[key]
    path.write_text(json.dumps(config))
    loaded = mk.data.Pipeline.load(str(path.parent))
    assert loaded.root == "data" and loaded.delimiter is None and not loaded.confine_paths
    assert labels_of(loaded.dataset(rows, batch_size=3)) == [0, 1, 0]
    # A recorded root that no longer exists (the folder moved) falls back to the saved one.
    config["root_abspath"] = str(tmp_path / "gone")
    path.write_text(json.dumps(config))
    assert mk.data.Pipeline.load(str(path.parent)).root == "data"
    assert os.getcwd() == str(tmp_path / "project")
