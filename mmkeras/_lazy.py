"""How every mmkeras package declares its public names: a table of name -> defining module.

Each package `__init__` holds its table and one line,

    __getattr__, __dir__, __all__ = attach(__name__, {"Pipeline": "mmkeras.data.pipeline", ...})

so its public names are exactly the keys of the table (nothing a module happens to import leaks
out), and a name's module is imported on first use: `import mmkeras` and the command line stay
fast, and TensorFlow is imported only by the code that needs it. A value `None` names a
subpackage or submodule of the package itself.

Packages whose modules register Keras objects for `.keras` loading (layers, tasks, models) pass
`eager=True`: importing the package then imports every module of its table, so a saved model
that names `mmkeras>GatedFusion` loads as soon as the package has been imported.
"""

import importlib


def attach(package, exports, eager=False):
    """Declares the public names of `package`, loaded on first use.

    Args:
        package: the package's `__name__`.
        exports: dict `{public_name: module_path}`; `module_path` None means the name is the
            submodule `package.public_name`.
        eager: bool, import every module of `exports` now instead of on first use.

    Returns:
        The tuple `(__getattr__, __dir__, __all__)` to assign in the package's `__init__`.
    """
    exports = dict(exports)
    names = sorted(exports)
    namespace = importlib.import_module(package).__dict__

    def load(name):
        module_path = exports[name]
        if module_path is None:
            value = importlib.import_module(f"{package}.{name}")
        else:
            value = getattr(importlib.import_module(module_path), name)
        namespace[name] = value
        return value

    def __getattr__(name):  # noqa: N807 - module-level __getattr__ (PEP 562)
        if name in exports:
            return load(name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():  # noqa: N807 - module-level __dir__ (PEP 562)
        return list(names)

    if eager:
        for name in names:
            load(name)
    return __getattr__, __dir__, names
