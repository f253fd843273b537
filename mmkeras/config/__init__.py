"""The run configuration: one validated schema for YAML files and Python.

>>> config = mmkeras.config.load("run.yaml")        # raises ConfigError, one line per problem
>>> config.model.fusion
'attention'
"""

from mmkeras.config.config_error import ConfigError
from mmkeras.config.loader import dump, from_dict, load, loads, to_dict
from mmkeras.config.schema import (
    BRANCH_KINDS,
    FUSIONS,
    BranchConfig,
    DataConfig,
    ModelConfig,
    RunConfig,
    TaskConfig,
)

__all__ = [
    "ConfigError",
    "RunConfig",
    "DataConfig",
    "ModelConfig",
    "BranchConfig",
    "TaskConfig",
    "BRANCH_KINDS",
    "FUSIONS",
    "load",
    "loads",
    "from_dict",
    "dump",
    "to_dict",
]
