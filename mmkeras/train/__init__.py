"""Training runs from a configuration: callbacks, resume, strategies, fine-tuning stages.

>>> import mmkeras as mk
>>> run = mk.train.fit(mk.config.load("config.yaml"))   # writes runs/<name>/
>>> run.model, run.pipeline, run.history
>>> trainer = mk.train.Trainer("config.yaml")           # the same run, as an object
>>> run = trainer.run()

Names are imported on first use, so `import mmkeras.train` does not import TensorFlow.
"""

import importlib

_NAMES = {
    "fit": "mmkeras.train.trainer",
    "Trainer": "mmkeras.train.trainer",
    "Stage": "mmkeras.train.stage",
    "stage_plan": "mmkeras.train.stage",
    "Run": "mmkeras.train.run",
    "read_history": "mmkeras.train.run",
    "get_strategy": "mmkeras.train.strategies",
    "LocalCluster": "mmkeras.train.local_cluster",
    "resolve_strategy_name": "mmkeras.train.strategies",
    "resolve_precision": "mmkeras.train.precision",
    "dtype_policy": "mmkeras.train.precision",
    "WarmupCosine": "mmkeras.train.warmup_cosine",
    "ResumeState": "mmkeras.train.resume_state",
    "EpochEnder": "mmkeras.train.epoch_ender",
    "LearningRateLogger": "mmkeras.train.learning_rate_logger",
    "AtomicModelCheckpoint": "mmkeras.train.atomic_model_checkpoint",
    "atomic_path": "mmkeras.train.atomic",
    "build_pipeline": "mmkeras.train.builders",
    "resolve_config": "mmkeras.train.builders",
    "task_report": "mmkeras.train.task_report",
    "DiscriminativeAdamW": "mmkeras.train.finetune",
    "bert_lr_multipliers": "mmkeras.train.finetune",
    "unfreeze_top_layers": "mmkeras.train.finetune",
}

__all__ = sorted(_NAMES)


def __getattr__(name):
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mmkeras.train' has no attribute {name!r}")


def __dir__():
    return __all__
