"""`BatchStepsLayer`: the input checks and output shapes of layers over `(batch, steps)` tensors."""

import keras


class BatchStepsLayer(keras.layers.Layer):
    """Base class of layers that take one rank-2 tensor `(batch, steps)`, such as token ids or
    waveforms, and return a mask, lengths or values over it.

    `build` refuses any other rank, naming what the layer takes (`input_description`); a
    subclass with more to check about the input extends `check_input_shape`. The output has
    the input's shape unless a subclass overrides `compute_output_shape`, and the dtype
    `output_dtype` (the layer's compute dtype when None).
    """

    input_description = "tensors of shape (batch, steps)"
    output_dtype = None

    def build(self, input_shape):
        self.check_input_shape(input_shape)
        self.built = True

    def check_input_shape(self, input_shape):
        """Raises a `ValueError` unless the layer can take inputs of `input_shape`."""
        if len(input_shape) != 2:
            raise ValueError(
                f"{type(self).__name__} expects {self.input_description}; received "
                f"input_shape={tuple(input_shape)}."
            )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_output_spec(self, inputs, *args, **kwargs):
        dtype = self.output_dtype or self.compute_dtype
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=dtype)
