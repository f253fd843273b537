"""Evaluation of mmkeras models: metric reports, plots and modality ablation.

>>> import mmkeras as mk
>>> report = mk.evaluate.report(model, val_ds, labels=["cat", "dog"])
>>> print(report)
>>> report.to_json("run/report.json")
>>> report.save_plots("run/plots")
>>> mk.evaluate.plot_learning_curves("run/log.csv")
>>> print(mk.evaluate.ablation(model, val_ds))

All metrics are computed with numpy; matplotlib is needed only for the plots.
"""

from mmkeras._lazy import attach

_EXPORTS = {
    "AblationReport": "mmkeras.evaluate.modality_ablation",
    "Report": "mmkeras.evaluate.metrics_report",
    "ablation": "mmkeras.evaluate.modality_ablation",
    "average_precision": "mmkeras.evaluate.curves",
    "classification_metrics": "mmkeras.evaluate.classification",
    "confusion_matrix": "mmkeras.evaluate.classification",
    "multilabel_metrics": "mmkeras.evaluate.multilabel",
    "plot_confusion_matrix": "mmkeras.evaluate.plots",
    "plot_learning_curves": "mmkeras.evaluate.plots",
    "plot_precision_recall_curves": "mmkeras.evaluate.plots",
    "plot_roc_curves": "mmkeras.evaluate.plots",
    "precision_recall_curve": "mmkeras.evaluate.curves",
    "regression_metrics": "mmkeras.evaluate.regression",
    "report": "mmkeras.evaluate.metrics_report",
    "roc_auc": "mmkeras.evaluate.curves",
    "roc_curve": "mmkeras.evaluate.curves",
    "top_k_accuracy": "mmkeras.evaluate.classification",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
