"""`EnsembleModel`: a weighted average of models that read the same inputs."""

import keras

from mmkeras.models.multimodal_model import PRESENT, PresenceOptionalModel


@keras.saving.register_keras_serializable(package="mmkeras")
class WeightedAverage(keras.layers.Layer):
    """`sum_i weights[i] * inputs[i]`, the weights fixed (they sum to 1)."""

    def __init__(self, weights, **kwargs):
        super().__init__(**kwargs)
        self.member_weights = [float(w) for w in weights]

    def call(self, inputs):
        total = inputs[0] * self.member_weights[0]
        for x, w in zip(inputs[1:], self.member_weights[1:], strict=True):
            total = total + x * w
        return total

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "weights": self.member_weights}


@keras.saving.register_keras_serializable(package="mmkeras")
class EnsembleModel(PresenceOptionalModel):
    """The weighted average of the outputs of `members`, one model with their inputs.

    Every member must have its own name and take the same inputs (names, shapes, dtypes) and give outputs of the same
    shape: the probabilities of one classification or multi-label task, or the values of one
    regression. The ensemble has the members' `tasks`, so it evaluates and exports
    (`mk.export.saved_model`) like any one of them.

    Args:
        members: list of models (e.g. `MultimodalModel`s trained on one pipeline).
        weights: list of non-negative numbers, one per member (normalised to sum to 1);
            default: equal weights.

    Example:
    >>> def member(name):
    ...     branch = mk.branches.tabular_mlp(num_features=3)
    ...     return mk.build_model({"x": branch}, task=mk.tasks.Regression(), name=name)
    >>> a, b = member("a"), member("b")
    >>> ensemble = mk.models.EnsembleModel([a, b], weights=[3, 1])
    >>> ensemble.member_weights
    [0.75, 0.25]
    """

    def __init__(self, members, weights=None, **kwargs):
        members = list(members)
        if not members:
            raise ValueError("EnsembleModel: `members` is empty; give at least one model.")
        weights = [1.0] * len(members) if weights is None else [float(w) for w in weights]
        if len(weights) != len(members) or any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(
                f"EnsembleModel: `weights` must be {len(members)} non-negative numbers with a "
                f"positive sum, received {weights!r}."
            )
        first = members[0]
        signature = _input_signature(first)
        for i, member in enumerate(members[1:], start=1):
            if _input_signature(member) != signature:
                raise ValueError(
                    f"EnsembleModel: member {i} takes inputs {_input_signature(member)}, "
                    f"member 0 takes {signature}; ensemble members must read the same inputs."
                )
        names = [m.name for m in members]
        if len(set(names)) != len(names):
            raise ValueError(
                f"EnsembleModel: members must have distinct names, received {names}; build them "
                "with distinct `name=` arguments."
            )
        weights = [w / sum(weights) for w in weights]
        inputs = {
            name: keras.Input(shape=t.shape[1:], dtype=t.dtype, name=name, optional=name == PRESENT)
            for name, t in first.input.items()
        }
        outputs = WeightedAverage(weights, name="average")([m(inputs) for m in members])
        super().__init__(inputs, outputs, **kwargs)
        self.members = members
        self.member_weights = weights
        # What evaluation and export ask of a multimodal model: its tasks and its modalities
        # (the names of its inputs, in the order of the presence mask).
        self.tasks = getattr(first, "tasks", {})
        self.modalities = list(getattr(first, "modalities", []))

    def get_config(self):
        return {
            "name": self.name,
            "members": [keras.saving.serialize_keras_object(m) for m in self.members],
            "weights": self.member_weights,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["members"] = [
            keras.saving.deserialize_keras_object(m, custom_objects=custom_objects)
            for m in config["members"]
        ]
        return cls(**config)


def _input_signature(model):
    return {name: (tuple(t.shape[1:]), str(t.dtype)) for name, t in model.input.items()}
