"""The Colab tutorials in examples/notebooks: stripped in the repository, and they run top to bottom.

Each notebook is executed with nbclient in a fresh kernel whose working directory is a temporary
folder, with `FULL_RUN = False` and `MMKERAS_NOTEBOOK_TEST=1`, which picks the notebook's smallest
settings (one epoch, fewer rows): every cell runs, in a fraction of the time. A cell that raises fails
the test. The kernel is told the notebook's own path (as Jupyter tells it), so the install cell
finds this checkout; the checkout is also put first on the kernel's `PYTHONPATH`, so the code
under test is this checkout's even where another mmkeras is installed.
"""

import ast
import os
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "examples" / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = [
    "01_quickstart.ipynb",
    "02_audio_visual_fusion.ipynb",
    "03_bert_finetuning.ipynb",
    "04_export_and_serve.ipynb",
    "05_scale_out.ipynb",
    "06_pretrained_encoders.ipynb",
]
# Seconds one cell may run; the slowest cell takes about a minute of CPU time with the small
# settings, so this only catches a hung kernel.
CELL_TIMEOUT = 900
_HEAVY_IMPORT = re.compile(r"^\s*(import|from)\s+(tensorflow|keras|mmkeras)\b", re.MULTILINE)


def _code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_the_six_tutorials_are_there():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_valid_and_stripped(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(_code_cells(nb)):
        assert cell.outputs == [], f"{path.name}: code cell {i} has outputs; strip them"
        assert cell.execution_count is None, f"{path.name}: code cell {i} has an execution count"
        ast.parse(cell.source)  # no IPython magics: each cell is plain Python
    assert "widgets" not in nb.metadata


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_starts_with_settings_and_the_install_cell(path):
    cells = _code_cells(nbformat.read(path, as_version=4))
    settings, install = cells[0].source, cells[1].source
    assert re.search(r'^MMKERAS_SOURCE = "<set me', settings, re.MULTILINE)
    assert re.search(r"^FULL_RUN = False\b", settings, re.MULTILINE)
    assert '"google.colab" in sys.modules' in install
    # The log level must be set before the first cell that imports TensorFlow, Keras or mmkeras.
    assert 'os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")' in install
    first_heavy = next(i for i, cell in enumerate(cells) if _HEAVY_IMPORT.search(cell.source))
    assert first_heavy > 1
    # Every notebook shares the same install cell.
    assert install == _code_cells(nbformat.read(NOTEBOOKS[0], as_version=4))[1].source


def _run_install_cell(tmp_path, monkeypatch, notebook_path):
    """Runs the install cell's definitions (not its install step) with a given notebook path."""
    setup = _code_cells(nbformat.read(NOTEBOOKS[0], as_version=4))[1].source
    marker = "\nif importlib.util.find_spec"
    assert marker in setup
    definitions = setup.split(marker)[0]
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook_path))
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(definitions, "install-cell", "exec"), namespace)
    return namespace


def test_install_cell_finds_the_checkout_from_the_notebook_path(tmp_path, monkeypatch):
    ns = _run_install_cell(tmp_path, monkeypatch, NOTEBOOKS[0])
    assert ns["notebook_dir"]() == NOTEBOOK_DIR
    assert ns["find_repo_root"](ns["notebook_dir"]()) == ROOT
    assert ns["IN_COLAB"] is False


def test_install_cell_finds_no_checkout_outside_one(tmp_path, monkeypatch):
    # A notebook copied out of the repository (as on Colab) falls back to its working directory.
    copy = tmp_path / "copy.ipynb"
    copy.write_bytes(NOTEBOOKS[0].read_bytes())
    ns = _run_install_cell(tmp_path, monkeypatch, copy)
    assert ns["notebook_dir"]() == tmp_path.resolve()
    assert ns["find_repo_root"](tmp_path.resolve()) is None


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    before = sorted(p.name for p in NOTEBOOK_DIR.iterdir())
    pythonpath = os.environ.get("PYTHONPATH")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT) + (os.pathsep + pythonpath if pythonpath else ""),
        "JPY_SESSION_NAME": str(path),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "KERAS_BACKEND": "tensorflow",
        "MMKERAS_NOTEBOOK_TEST": "1",
    }
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute(env=env)  # raises CellExecutionError naming the failing cell

    errors = [
        output
        for cell in _code_cells(nb)
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert errors == []
    # What the notebook writes lands in its working directory, not beside the notebook.
    assert sorted(p.name for p in NOTEBOOK_DIR.iterdir()) == before
