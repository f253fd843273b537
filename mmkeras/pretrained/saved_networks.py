"""Loading the networks that pretrained families define, without importing keras-hub first.

A `.keras` file of a DINOv2 branch names `mmkeras>DINOv2Network`, a subclass of keras-hub's
backbone that lives with its family (and so imports keras-hub). `mmkeras.models` imports this
module, which registers a stand-in under each such name: its `from_config` imports the family
and builds the real network. `keras.saving.load_model` then finds these classes as it finds
every other mmkeras object once `mmkeras.models` is imported, while importing `mmkeras.models`
stays free of keras-hub. Importing the family replaces the stand-in with the class itself.
"""

import importlib

import keras

# Registered name -> (module, class) of every network class a family registers.
NETWORKS = {
    "mmkeras>DINOv2Network": ("mmkeras.pretrained.families.dinov2", "DINOv2Network"),
}


class DeferredNetwork:
    """Stand-in for a network class whose module is imported when a file is loaded."""

    module = None
    class_name = None

    @classmethod
    def network_class(cls):
        return getattr(importlib.import_module(cls.module), cls.class_name)

    @classmethod
    def from_config(cls, config):
        return cls.network_class().from_config(config)


def register_deferred_networks():
    """Registers a `DeferredNetwork` under every name of `NETWORKS` not yet registered."""
    registry = keras.saving.get_custom_objects()
    for name, (module, class_name) in NETWORKS.items():
        if name not in registry:
            attributes = {"module": module, "class_name": class_name}
            registry[name] = type(f"Deferred{class_name}", (DeferredNetwork,), attributes)


register_deferred_networks()

__all__ = ["NETWORKS", "DeferredNetwork", "register_deferred_networks"]
