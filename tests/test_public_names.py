"""Public names are declared: one table per package, no name shadowing a submodule, cheap import."""

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "mmkeras"
# The command line's package holds commands, not a library API.
PACKAGES = sorted(
    ".".join(("mmkeras", *path.parent.relative_to(PACKAGE_DIR).parts))
    for path in PACKAGE_DIR.rglob("__init__.py")
    if "cli" not in path.parent.relative_to(PACKAGE_DIR).parts
)
INTERNAL = {
    "mmkeras.train": ("EpochEnder", "ResumeState", "atomic_path", "AtomicModelCheckpoint"),
    "mmkeras.export": ("write_directory_atomically",),
}


def _submodules(package):
    return {
        info.name
        for info in pkgutil.iter_modules([str(PACKAGE_DIR.parent / package.replace(".", "/"))])
    }


@pytest.mark.parametrize("package", PACKAGES)
def test_exports_are_declared_in_one_table_and_shadow_no_submodule(package):
    module = importlib.import_module(package)
    source = Path(module.__file__).read_text()
    assert "__getattr__, __dir__, __all__ = attach(__name__" in source, package
    exports = module._EXPORTS
    shadowing = sorted(
        name
        for name, target in exports.items()
        if target is not None and name in _submodules(package)
    )
    assert not shadowing, f"{package} exports {shadowing}, which are also its submodules"
    assert sorted(dir(module)) == sorted(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None, (package, name)


@pytest.mark.parametrize("package, names", sorted(INTERNAL.items()))
def test_internal_helpers_are_not_exported(package, names):
    module = importlib.import_module(package)
    for name in names:
        assert name not in module.__all__
        with pytest.raises(AttributeError):
            getattr(module, name)


def test_import_mmkeras_and_the_command_line_help_do_not_import_tensorflow():
    code = (
        "import sys, mmkeras, mmkeras.cli\n"
        "try:\n"
        "    mmkeras.cli.main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
