"""A saved pipeline loads in a process that has imported nothing else of mmkeras."""

import os
import subprocess
import sys

import mmkeras as mk


def test_a_saved_pipeline_loads_in_a_fresh_process(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("text,label\nthe digit 1,1\nzero,0\n", encoding="utf-8")
    pipe = mk.data.Pipeline(schema={"text": "text", "label": "label"}, text=mk.data.TextSpec())
    pipe.adapt(str(manifest))
    pipe.save(str(tmp_path / "pipeline"))
    code = (
        "import sys; from mmkeras.data.pipeline import Pipeline; "
        "p = Pipeline.load(sys.argv[1]); print(type(p.specs['text']).__name__, p.labels)"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "pipeline")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[0] == "TextSpec"
