"""The base class of task heads."""

import keras


class Task:
    """A prediction target: the head on top of the fused feature, its loss and its metrics.

    A task is a small configuration object, not a layer: `build_head` creates the head layers on
    a fused feature tensor, so the same task object can describe heads in several models.
    Subclasses define `activation`, `output_units`, `loss` and `metrics`.

    Args:
        name: str, the name of the model output (and of the target key for multi-task data).
        hidden_units: tuple of ints, sizes of Dense+ReLU layers between the fused feature and the
            output layer of this head.
        dropout: float in [0, 1), dropout before the output layer.
        loss_weight: float, weight of this task's loss in a multi-task model.

    Attributes:
        kind: str, the task kind (`"classification"`, `"multilabel"`, `"regression"`; names in
            `mmkeras.names`), also its `kind` in a config and its section in an evaluation
            report. None on a task class that defines no kind of its own.
    """

    kind = None

    def __init__(self, name="label", hidden_units=(), dropout=0.0, loss_weight=1.0):
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                f"Task `name` must be a valid identifier string (it names a model output), "
                f"received {name!r}."
            )
        hidden_units = tuple(hidden_units or ())
        if any(not isinstance(u, int) or u <= 0 for u in hidden_units):
            raise ValueError(
                f"Task `hidden_units` must be positive integers, received {hidden_units!r}."
            )
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"Task `dropout` must be in [0, 1), received {dropout!r}.")
        if float(loss_weight) < 0:
            raise ValueError(f"Task `loss_weight` must be >= 0, received {loss_weight!r}.")
        self.name = name
        self.hidden_units = hidden_units
        self.dropout = float(dropout)
        self.loss_weight = float(loss_weight)

    # --- what subclasses define -------------------------------------------------------------
    @property
    def output_units(self):
        raise NotImplementedError(f"{type(self).__name__} must define `output_units`.")

    @property
    def activation(self):
        raise NotImplementedError(f"{type(self).__name__} must define `activation`.")

    @property
    def loss(self):
        raise NotImplementedError(f"{type(self).__name__} must define `loss`.")

    def metrics(self):
        """Returns a list of fresh metric objects for this task."""
        raise NotImplementedError(f"{type(self).__name__} must define `metrics()`.")

    # --- shared behaviour -------------------------------------------------------------------
    def with_name(self, name):
        """Returns a copy of this task whose output is called `name`."""
        config = self.get_config()
        config["name"] = name
        return type(self).from_config(config)

    def build_head(self, fused):
        """Builds this task's head on the symbolic fused feature; returns the named output tensor.

        The output is computed in float32 whatever the dtype policy, so losses stay numerically
        safe under mixed precision.
        """
        x = fused
        for i, units in enumerate(self.hidden_units):
            x = keras.layers.Dense(units, activation="relu", name=f"{self.name}_hidden_{i}")(x)
        if self.dropout:
            x = keras.layers.Dropout(self.dropout, name=f"{self.name}_dropout")(x)
        x = keras.layers.Dense(self.output_units, name=f"{self.name}_logits")(x)
        return keras.layers.Activation(self.activation, dtype="float32", name=self.name)(x)

    def get_config(self):
        return {
            "name": self.name,
            "hidden_units": list(self.hidden_units),
            "dropout": self.dropout,
            "loss_weight": self.loss_weight,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()
