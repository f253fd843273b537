"""Training runs from a configuration: callbacks, resume, strategies, fine-tuning stages.

>>> import mmkeras as mk
>>> run = mk.train.fit(mk.config.load("config.yaml"))   # writes runs/<name>/
>>> run.model, run.pipeline, run.history
>>> trainer = mk.train.Trainer("config.yaml")           # the same run, as an object
>>> run = trainer.run()

Names are imported on first use, so `import mmkeras.train` does not import TensorFlow.
"""

from mmkeras._lazy import attach

_EXPORTS = {
    "DiscriminativeAdamW": "mmkeras.train.finetune",
    "LocalCluster": "mmkeras.train.local_cluster",
    "Run": "mmkeras.train.run",
    "Stage": "mmkeras.train.stage",
    "Trainer": "mmkeras.train.trainer",
    "WarmupCosine": "mmkeras.train.warmup_cosine",
    "bert_lr_multipliers": "mmkeras.train.finetune",
    "dtype_policy": "mmkeras.train.precision",
    "fit": "mmkeras.train.trainer",
    "get_strategy": "mmkeras.train.strategies",
    "read_history": "mmkeras.train.run",
    "resolve_precision": "mmkeras.train.precision",
    "resolve_strategy_name": "mmkeras.train.strategies",
    "stage_plan": "mmkeras.train.stage",
    "task_report": "mmkeras.train.task_evaluation",
    "unfreeze_top_layers": "mmkeras.train.finetune",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
