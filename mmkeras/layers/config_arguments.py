"""`ConfigArgumentsMixin`: a layer's `get_config` from the constructor arguments it keeps."""

import keras


class ConfigArgumentsMixin:
    """Builds `get_config` from `config_arguments`, the constructor arguments that a layer keeps
    as attributes of the same name.

    Activations and initializers kept as objects (`keras.activations.get`,
    `keras.initializers.get`) are written back in their serialized form.
    """

    config_arguments = ()

    def get_config(self):
        config = super().get_config()
        for name in self.config_arguments:
            config[name] = _serializable(getattr(self, name))
        return config


def _serializable(value):
    if isinstance(value, keras.initializers.Initializer):
        return keras.initializers.serialize(value)
    if callable(value):
        return keras.activations.serialize(value)
    return value
