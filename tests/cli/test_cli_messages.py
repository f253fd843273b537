"""Errors on the command line speak command-line words and show no traceback."""

import yaml
from image_data import image_run_config

from mmkeras.cli import main


def _image_run(tmp_path, errors="raise"):
    config = image_run_config(tmp_path, "words", 6, errors=errors)
    del config["callbacks"]  # the defaults, as a user has them
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_an_unusable_row_is_reported_in_configuration_words(tmp_path, capsys):
    path = _image_run(tmp_path)
    assert main(["train", str(path), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "row 6" in err and "missing.png" in err and "file_missing" in err
    assert "Set `data.errors: skip` in the configuration" in err
    assert "mmkeras validate" in err
    assert "errors='skip'" not in err and "pipe.validate" not in err
    assert "Traceback" not in err


def test_a_changed_configuration_on_resume_names_restart_as_a_flag(tmp_path, capsys, monkeypatch):
    from mmkeras.train import trainer

    path = _image_run(tmp_path, errors="skip")

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer.Trainer, "finish", crash)
    assert main(["train", str(path), "--quiet"]) == 130
    monkeypatch.undo()
    capsys.readouterr()
    assert main(["train", str(path), "--quiet", "--epochs", "2"]) == 2
    err = capsys.readouterr().err
    assert "train.epochs 1 in the run, 2 now" in err
    assert "(`--restart`)" in err and "restart=True" not in err
    assert "Traceback" not in err


def test_tensorflow_graph_noise_is_removed_from_data_errors():
    import tensorflow as tf

    from mmkeras.cli import _message

    error = tf.errors.InvalidArgumentError(
        None,
        None,
        "t.csv: row 3 file 'a.png' (input 'image'): file_missing - gone.\n\t "
        "[[{{node PyFunc}}]] [Op:IteratorGetNext]",
    )
    assert _message(error) == "t.csv: row 3 file 'a.png' (input 'image'): file_missing - gone."


def test_mmkeras_warnings_are_one_line_on_the_command_line():
    import os

    import mmkeras
    from mmkeras.cli import _format_warning

    inside = os.path.join(os.path.dirname(mmkeras.__file__), "train", "run.py")
    line = _format_warning(UserWarning("m.csv line 4: bad; line skipped"), UserWarning, inside, 65)
    assert line == "mmkeras: warning: m.csv line 4: bad; line skipped\n"
    other = _format_warning(UserWarning("x"), UserWarning, "/elsewhere/keras/a.py", 3, "code")
    assert "/elsewhere/keras/a.py:3" in other


def test_a_folder_given_as_a_manifest_is_called_a_folder(tmp_path, capsys):
    run_dir = tmp_path / "run"
    (run_dir / "pipeline").mkdir(parents=True)
    assert main(["validate", str(run_dir), "--data", str(tmp_path)]) == 2
    assert "is a folder; give a manifest file" in capsys.readouterr().err
    assert main(["predict", str(run_dir), str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is a folder; give a manifest file" in err and "does not exist" not in err
