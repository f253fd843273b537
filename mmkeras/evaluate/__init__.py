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

from mmkeras.evaluate.ablation import AblationReport, ablation
from mmkeras.evaluate.classification_metrics import (
    classification_metrics,
    confusion_matrix,
    top_k_accuracy,
)
from mmkeras.evaluate.curves import (
    average_precision,
    precision_recall_curve,
    roc_auc,
    roc_curve,
)
from mmkeras.evaluate.multilabel_metrics import multilabel_metrics
from mmkeras.evaluate.plots import (
    plot_confusion_matrix,
    plot_learning_curves,
    plot_precision_recall_curves,
    plot_roc_curves,
)
from mmkeras.evaluate.regression_metrics import regression_metrics
from mmkeras.evaluate.report import Report, report

__all__ = [
    "AblationReport",
    "Report",
    "ablation",
    "average_precision",
    "classification_metrics",
    "confusion_matrix",
    "multilabel_metrics",
    "plot_confusion_matrix",
    "plot_learning_curves",
    "plot_precision_recall_curves",
    "plot_roc_curves",
    "precision_recall_curve",
    "regression_metrics",
    "report",
    "roc_auc",
    "roc_curve",
    "top_k_accuracy",
]
