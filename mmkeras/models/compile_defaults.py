"""`CompileDefaultsMixin`: `compile_defaults`, one way for every mmkeras model to compile itself."""

import keras


class CompileDefaultsMixin:
    """Gives a model `compile_defaults`: Adam at a learning rate, plus the model's own arguments.

    A model says what it compiles with (losses, metrics) in `default_compile_arguments`; models
    whose loss is built in (`compute_loss`) keep the default, no arguments.
    """

    def default_compile_arguments(self):
        """The arguments of `compile` besides the optimizer (none: the loss is built in)."""
        return {}

    def compile_defaults(self, optimizer=None, learning_rate=1e-3, **kwargs):
        """Compiles with Adam at `learning_rate` (or `optimizer`) and the model's own losses.

        Args:
            optimizer: an optimizer instance or name; default `keras.optimizers.Adam`.
            learning_rate: float, used when `optimizer` is None.
            **kwargs: passed on to `compile` (`jit_compile`, `steps_per_execution`, ...).
        """
        arguments = self.default_compile_arguments()
        if optimizer is None:
            optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
        self.compile(optimizer=optimizer, **arguments, **kwargs)
        return self
