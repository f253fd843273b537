"""Test utilities: layer checks and synthetic data.

`run_layer_test` wraps Keras's own layer test harness (serialization round trip, symbolic and
eager calls, a training step, mixed precision); `check_presence_mask_contract` checks the
presence-mask contract of a fusion layer; `registered_mmkeras_objects` lists what mmkeras
registers for `.keras` serialization. `make_mixed_table` writes a small image + tabular + text
table whose label only the columns taken together predict.
"""

from mmkeras._lazy import attach

_EXPORTS = {
    "MixedTable": "mmkeras.testing.tables",
    "check_presence_mask_contract": "mmkeras.testing.layer_checks",
    "make_mixed_table": "mmkeras.testing.tables",
    "registered_mmkeras_objects": "mmkeras.testing.layer_checks",
    "run_layer_test": "mmkeras.testing.layer_checks",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
