"""Training runs from a configuration: callbacks, resume, strategies, fine-tuning stages.

`fit` trains the run a configuration describes into `output_dir/name` and returns it; a run
that is complete already (as `runs/pets` is here) is read back, not trained again:

>>> import mmkeras as mk
>>> run = mk.train.fit(mk.config.load("run.yaml"))
/.../runs/pets: the run is complete; nothing to do (...)
>>> run.run_dir
'.../runs/pets'
>>> type(run.model).__name__, type(run.pipeline).__name__, len(run.history)
('MultimodalModel', 'Pipeline', 1)
>>> trainer = mk.train.Trainer("run.yaml")  # the same run, as an object
>>> run = trainer.run()  # the same run, complete
/.../runs/pets: the run is complete; nothing to do (...)

Names are imported on first use, so `import mmkeras.train` does not import TensorFlow.
"""

from mmkeras._lazy import attach

_EXPORTS = {
    "DiscriminativeAdamW": "mmkeras.train.finetune",
    "LocalCluster": "mmkeras.train.local_cluster",
    "Run": "mmkeras.train.run",
    "Stage": "mmkeras.train.stage",
    "TimeLimit": "mmkeras.train.time_limit",
    "Trainer": "mmkeras.train.trainer",
    "WarmupCosine": "mmkeras.train.warmup_cosine",
    "bert_lr_multipliers": "mmkeras.train.finetune",
    "layerwise_lr_multipliers": "mmkeras.train.finetune",
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
