"""Model code (layers, branches, tasks, models) imports keras only, never TensorFlow directly."""

import ast
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "mmkeras"
MODEL_PACKAGES = ("layers", "branches", "tasks", "models")
FORBIDDEN = ("tensorflow", "tensorflow_text", "tf_keras")


def _forbidden_imports(source, filename="<source>"):
    """Returns `(line, module)` for every import of a forbidden module in `source`."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        for module in modules:
            if module.split(".")[0] in FORBIDDEN:
                found.append((node.lineno, module))
    return found


def test_detects_every_form_of_forbidden_import():
    source = (
        "import tensorflow as tf\n"
        "from tensorflow import keras\n"
        "import os, tensorflow_text\n"
        "from tf_keras.layers import Dense\n"
        "def f():\n"
        "    import tensorflow.experimental.numpy\n"
        "import keras\n"
        "from keras import ops\n"
        "import tensorflowish\n"
    )
    assert [module for _, module in _forbidden_imports(source)] == [
        "tensorflow",
        "tensorflow",
        "tensorflow_text",
        "tf_keras.layers",
        "tensorflow.experimental.numpy",
    ]


def test_model_code_does_not_import_tensorflow():
    files = [
        path for package in MODEL_PACKAGES for path in sorted((PACKAGE_DIR / package).rglob("*.py"))
    ]
    assert any(path.name == "concat_fusion.py" for path in files)  # the walk found the code
    offenders = [
        f"{path.relative_to(PACKAGE_DIR.parent)}:{line}: imports {module}"
        for path in files
        for line, module in _forbidden_imports(path.read_text(), filename=str(path))
    ]
    assert not offenders, "model code must use keras and keras.ops only:\n" + "\n".join(offenders)
