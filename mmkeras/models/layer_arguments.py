"""`LayerArgumentsMixin`: the config of a model built from layers passed to its constructor."""

import keras


class LayerArgumentsMixin:
    """Serializes the layers a model takes as constructor arguments, as keras-hub's CLIP does.

    A model names them in `layer_arguments` (branches, a decoder, a teacher and a student);
    its `get_config` includes `serialized_layers()` (each `keras.layers.serialize`d) and
    `from_config` deserializes them before calling the constructor.
    """

    layer_arguments = ()

    def serialized_layers(self):
        """`{argument: keras.layers.serialize(layer)}` for each of `layer_arguments`."""
        return {key: keras.layers.serialize(getattr(self, key)) for key in self.layer_arguments}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in cls.layer_arguments:
            config[key] = keras.layers.deserialize(config[key], custom_objects=custom_objects)
        return cls(**config)
