"""The exported SavedModel serves raw bytes exactly as the Keras model on the eval pipeline."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.export.conftest import CLASSES, raw_batch


def _reference(exported):
    ds = exported.pipe.dataset(exported.manifest, training=False, batch_size=4)
    return exported.model.predict(ds.map(lambda x, y: x), verbose=0)


def test_raw_bytes_match_keras_on_eval_pipeline(exported):
    out = exported.serve(**raw_batch(exported.root, exported.rows))
    probabilities = out["probabilities"].numpy()
    reference = _reference(exported)
    assert probabilities.shape == (len(exported.rows), 3)
    np.testing.assert_allclose(probabilities, reference, atol=1e-5)
    expected = [CLASSES[i] for i in reference.argmax(axis=1)]
    assert [s.decode() for s in out["label"].numpy()] == expected


def test_batch_of_one_and_any_size(exported):
    raw = raw_batch(exported.root, exported.rows)
    reference = _reference(exported)
    one = exported.serve(**{k: v[2:3] for k, v in raw.items()})
    np.testing.assert_allclose(one["probabilities"].numpy(), reference[2:3], atol=1e-5)


def test_preprocessed_signature_and_preprocess_endpoint(exported):
    import tensorflow as tf

    raw = raw_batch(exported.root, exported.rows)
    tensors = exported.loaded.signatures["preprocess"](
        **{k: tf.constant(v) for k, v in raw.items()}
    )
    expected = exported.pipe.preprocess({k: tf.constant(v) for k, v in raw.items()})
    assert sorted(tensors) == sorted(expected) == ["audio", "image", "present", "text"]
    for name in expected:
        np.testing.assert_array_equal(tensors[name].numpy(), expected[name].numpy())
    out = exported.loaded.signatures["serving_preprocessed"](**tensors)
    np.testing.assert_allclose(out["probabilities"].numpy(), _reference(exported), atol=1e-5)


def test_absent_modality_uses_presence_mask(exported):
    import tensorflow as tf

    raw = raw_batch(exported.root, exported.rows[:3])
    raw["text"] = np.array(["", "", ""], dtype=object)
    out = exported.serve(**raw)
    inputs = exported.pipe.preprocess({k: tf.constant(v) for k, v in raw.items()})
    np.testing.assert_array_equal(inputs["present"].numpy()[:, 1], [0.0, 0.0, 0.0])
    reference = exported.model.predict(inputs, verbose=0)
    np.testing.assert_allclose(out["probabilities"].numpy(), reference, atol=1e-5)


def test_signatures_and_metadata(exported):
    signature = exported.loaded.signatures["serving_default"]
    inputs = signature.structured_input_signature[1]
    assert {n: s.dtype.name for n, s in inputs.items()} == {
        "image": "string",
        "text": "string",
        "audio": "string",
    }
    assert set(exported.loaded.signatures) == {
        "serving_default",
        "serving_preprocessed",
        "preprocess",
    }
    with open(os.path.join(exported.path, "metadata.json")) as f:
        meta = json.load(f)
    assert meta["labels"] == {"label": CLASSES}
    assert set(meta["versions"]) >= {"mmkeras", "tensorflow", "keras"}
    assert meta["signatures"]["serving_default"]["inputs"]["text"]["column"] == "caption"
    assert meta["signatures"]["serving_preprocessed"]["inputs"]["image"]["shape"] == [
        None,
        32,
        32,
        3,
    ]
    assert meta["preprocessing"]["specs"]["audio"]["config"]["sample_rate"] == 8000


@pytest.mark.slow
def test_serves_in_a_process_where_mmkeras_cannot_be_imported(exported, tmp_path):
    raw = raw_batch(exported.root, exported.rows)
    np.save(tmp_path / "image.npy", raw["image"])
    np.save(tmp_path / "audio.npy", raw["audio"])
    script = f"""
import sys
sys.modules["mmkeras"] = None  # any `import mmkeras` now fails
try:
    import mmkeras
    raise SystemExit("mmkeras could still be imported")
except ImportError:
    pass
import json
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401
m = tf.saved_model.load({exported.path!r})
out = m.signatures["serving_default"](
    image=tf.constant(np.load({str(tmp_path / "image.npy")!r}, allow_pickle=True)),
    audio=tf.constant(np.load({str(tmp_path / "audio.npy")!r}, allow_pickle=True)),
    text=tf.constant({[str(t) for t in raw["text"]]!r}))
print("RESULT" + json.dumps(out["probabilities"].numpy().tolist()))
"""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""}
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tmp_path),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT"))
    probabilities = np.array(json.loads(line[len("RESULT") :]))
    np.testing.assert_allclose(probabilities, _reference(exported), atol=1e-5)


def _saved_model_cli_run(exported, tmp_path, rows):
    raw = raw_batch(exported.root, rows)
    np.save(tmp_path / "image.npy", raw["image"])
    np.save(tmp_path / "audio.npy", raw["audio"])
    texts = json.dumps([str(t) for t in raw["text"]])
    # The documented command: saved_model_cli with tensorflow-text's ops registered first.
    launcher = (
        "import sys, tensorflow_text; "
        "from tensorflow.python.tools.saved_model_cli import main; "
        "sys.argv[0] = 'saved_model_cli'; sys.exit(main())"
    )
    command = [
        sys.executable,
        "-c",
        launcher,
        "run",
        "--dir",
        exported.path,
        "--tag_set",
        "serve",
        "--signature_def",
        "serving_default",
        "--inputs",
        f"image={tmp_path / 'image.npy'};audio={tmp_path / 'audio.npy'}",
        "--input_exprs",
        f"text={texts}",
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("saved_model_cli") is None, reason="saved_model_cli not found")
def test_saved_model_cli_show_and_run_with_raw_inputs(exported, tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    show = subprocess.run(
        [
            "saved_model_cli",
            "show",
            "--dir",
            exported.path,
            "--tag_set",
            "serve",
            "--signature_def",
            "serving_default",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert show.returncode == 0, show.stderr[-3000:]
    assert "inputs['image']" in show.stdout and "DT_STRING" in show.stdout
    assert "outputs['probabilities']" in show.stdout

    proc = _saved_model_cli_run(exported, tmp_path, exported.rows[:2])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Result for output key label" in proc.stdout
    reference = _reference(exported)[:2]
    labels = [CLASSES[i] for i in reference.argmax(axis=1)]
    assert f"[b'{labels[0]}' b'{labels[1]}']" in proc.stdout


def test_rejects_a_model_and_pipeline_that_do_not_match(exported, tmp_path):
    import mmkeras as mk

    pipe = mk.data.Pipeline(
        schema={"image": "image", "label": "label"}, image=mk.data.ImageSpec(size=(32, 32))
    )
    pipe.adapt(exported.manifest)
    with pytest.raises(ValueError, match="inputs"):
        mk.export.saved_model(exported.model, pipe, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
