"""`TabularSpec`: a vector of numeric features read from manifest columns."""


class TabularSpec:
    """Describes a tabular input of a `Pipeline`.

    The schema value of a tabular input is a list of manifest columns (one feature each). Values
    must be finite numbers; `Pipeline.adapt` records per-feature mean and standard deviation,
    available as `pipe.tabular_stats(name)`, and applies them when `normalize=True` (by default
    the raw values are yielded, since `tabular_mlp` normalises inside the model).

    Args:
        normalize: bool, standardise features with the statistics computed by `adapt`.

    Example:
    >>> pipe = Pipeline(schema={"meta": ["age", "height"], "label": "y"}, tabular=None,
    ...                 specs={"meta": TabularSpec()})
    """

    modality = "tabular"

    def __init__(self, normalize=False):
        if not isinstance(normalize, bool):
            raise ValueError(f"TabularSpec: `normalize` must be a bool, received {normalize!r}.")
        self.normalize = normalize

    def get_config(self):
        return {"normalize": self.normalize}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"TabularSpec(normalize={self.normalize})"
