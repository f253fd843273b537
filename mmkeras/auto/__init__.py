"""`mk.Predictor`: a table of files and columns in, a tuned multimodal model out.

>>> pred = mk.Predictor(label="label", path="runs/pred")  # then pred.fit("train.csv", ...)
>>> pred
Predictor(label='label', problem_type=None, preset='medium', path='.../runs/pred')

Column types, the problem type, the search (KerasTuner) and the ensemble: docs/predictor.md.
"""

from mmkeras._lazy import attach

_EXPORTS = {
    "PRESETS": "mmkeras.auto.presets",
    "Predictor": "mmkeras.auto.predictor",
    "infer_column_type": "mmkeras.auto.column_types",
    "infer_problem_type": "mmkeras.auto.column_types",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
