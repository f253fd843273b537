"""`train.mixed_precision: auto` picks the policy measured best for the device."""

from mmkeras.train.precision import resolve_precision


class _Config:
    def __init__(self, gpus):
        self.gpus = gpus

    def list_physical_devices(self, kind=None):
        return list(self.gpus) if kind == "GPU" else []

    class experimental:  # noqa: N801 - mirrors tf.config.experimental
        details = {}

        @classmethod
        def get_device_details(cls, device):
            return cls.details[device]


def _auto(monkeypatch, gpus, details):
    import tensorflow as tf

    config = _Config(gpus)
    config.experimental.details = details
    monkeypatch.setattr(tf, "config", config)
    return resolve_precision("auto")


def test_auto_is_float32_on_a_cpu(monkeypatch):
    assert _auto(monkeypatch, [], {}) == "float32"


def test_auto_is_float16_only_on_gpus_with_tensor_cores(monkeypatch):
    assert _auto(monkeypatch, ["g"], {"g": {"compute_capability": (8, 0)}}) == "mixed_float16"
    assert _auto(monkeypatch, ["g"], {"g": {"compute_capability": (6, 1)}}) == "float32"


def test_explicit_and_tpu_choices_are_kept():
    assert resolve_precision("auto", "tpu") == "mixed_bfloat16"
    assert resolve_precision("mixed_bfloat16") == "mixed_bfloat16"
    assert resolve_precision("off") == "float32"
