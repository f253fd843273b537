"""The run configuration: one validated schema for YAML files and Python.

>>> config = mmkeras.config.load("run.yaml")        # raises ConfigError, one line per problem
>>> config.model.fusion
'attention'
"""

from mmkeras._lazy import attach

_EXPORTS = {
    "BRANCH_KINDS": "mmkeras.config.schema",
    "BranchConfig": "mmkeras.config.schema",
    "ConfigError": "mmkeras.config.config_error",
    "DataConfig": "mmkeras.config.schema",
    "FUSIONS": "mmkeras.config.schema",
    "ModelConfig": "mmkeras.config.schema",
    "RunConfig": "mmkeras.config.schema",
    "TaskConfig": "mmkeras.config.schema",
    "dump": "mmkeras.config.loader",
    "from_dict": "mmkeras.config.loader",
    "load": "mmkeras.config.loader",
    "loads": "mmkeras.config.loader",
    "to_dict": "mmkeras.config.loader",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
