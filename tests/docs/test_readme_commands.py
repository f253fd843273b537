"""Every `mmkeras` command a user would paste from the README and the docs runs, as written.

Commands are read from the ```bash blocks of README.md and docs/*.md, not copied here, so a
README that drifts from the code fails this test. They run in order in one fresh folder that
sees the repository's `examples/` and `mmkeras/` (so relative paths resolve as from a checkout),
with changes that keep CI short: `mmkeras train` gets `--epochs 1`, `mmkeras demo` gets
`--quick`, `mmkeras fit` gets `--time-limit 20 --preset fast`. `mmkeras demo --quick` runs once for the whole suite, the same way in a fresh folder
(the `quick_demo` fixture in conftest.py, with `--seed 3`, which tests/cli/test_demo.py checks
is honoured); this test checks that run as it checks its own. Skipped: lines with a `<placeholder>`, lines naming a file that is not in the
repository (`config.yaml`, `captions.yaml`: the user's own), and `mmkeras serve`, which runs
until stopped (tests/serve starts it and stops it).
"""

import os
import re
import shlex
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = ["README.md"] + sorted(
    os.path.join("docs", n) for n in os.listdir(os.path.join(REPO, "docs")) if n.endswith(".md")
)
_BLOCK = re.compile(r"```(?:bash|sh|shell)\n(.*?)```", re.S)


def _blocks(doc):
    """The `mmkeras` commands of each bash block of `doc`, block by block."""
    with open(os.path.join(REPO, doc), encoding="utf-8") as f:
        text = f.read()
    out = []
    for block in _BLOCK.findall(text):
        commands = []
        for line in block.splitlines():
            line = line.split(" #", 1)[0].strip()
            for part in line.split("&&"):
                part = part.strip()
                if part.startswith("mmkeras "):
                    commands.append(part)
        out.append(commands)
    return out


def _commands(doc):
    return [c for block in _blocks(doc) for c in block]


def _runnable(doc):
    """Commands to run: a block's commands up to its first one a user could not paste as is
    (the later ones read what it would have written)."""
    out = []
    for block in _blocks(doc):
        for command in block:
            if not _pasteable(command):
                break
            out.append(command)
    return out


def _pasteable(command):
    words = shlex.split(command)
    if "<" in command or words[1] == "serve":
        return False
    outputs = {w for i, w in enumerate(words) if i > 0 and words[i - 1] in ("--out", "--plots")}
    for word in words[2:]:
        if word.endswith((".yaml", ".csv", ".jsonl")) and word not in outputs:
            if not os.path.exists(os.path.join(REPO, word)):
                return False
    return True


def _shortened(command):
    words = shlex.split(command)
    if words[1] == "train" and "--epochs" not in words:
        words += ["--epochs", "1"]
    if words[1] == "demo" and "--quick" not in words:
        words += ["--quick"]
    if words[1] == "fit":
        # One short trial: the command's own time limit is for a real search.
        for flag in ("--time-limit", "--preset"):
            if flag in words:
                del words[words.index(flag) : words.index(flag) + 2]
        words += ["--time-limit", "20", "--preset", "fast"]
    return words


def test_the_readme_shows_the_commands_this_test_runs():
    commands = _commands("README.md")
    names = {shlex.split(c)[1] for c in commands}
    assert {"train", "evaluate", "predict", "export", "doctor", "demo", "validate"} <= names


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_every_pasteable_command_runs_as_written(tmp_path, quick_demo):
    for name in ("examples", "mmkeras"):
        os.symlink(os.path.join(REPO, name), tmp_path / name)
    env = {
        **os.environ,
        "PYTHONPATH": REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "CI": "true",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    ran = []
    for doc in DOCS:
        for command in _runnable(doc):
            if command in ran and shlex.split(command)[1] != "train":
                continue  # the same command again (a second train is the resume check)
            words = _shortened(command)
            if words[1:] == ["demo", "--quick"]:
                result = quick_demo
            else:
                result = subprocess.run(
                    [sys.executable, "-m", "mmkeras", *words[1:]],
                    cwd=tmp_path,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=900,
                    stdin=subprocess.DEVNULL,
                )
            where = f"{doc}: `{command}`"
            assert result.returncode == 0, (
                f"{where} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
            )
            assert "Traceback" not in result.stderr, f"{where}:\n{result.stderr[-3000:]}"
            ran.append(command)
    assert any(c.startswith("mmkeras train examples/configs/") for c in ran), ran
    assert any(c.startswith("mmkeras export") for c in ran), ran
    assert "mmkeras demo" in ran, ran


def test_ci_runs_the_readme_test_command_with_durations():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        readme = [line for line in f.read().splitlines() if "python -m pytest" in line]
    with open(os.path.join(REPO, ".ci", "run"), encoding="utf-8") as f:
        ci = [line for line in f.read().splitlines() if "python -m pytest" in line]
    assert len(readme) == 1 and ci == readme
    assert "--durations=" in readme[0]
