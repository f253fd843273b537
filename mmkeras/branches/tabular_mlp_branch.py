"""A multilayer perceptron over normalised tabular features."""

import keras
import numpy as np

from mmkeras.argument_checks import check_positive_int, check_positive_ints, check_rate
from mmkeras.branches._common import branch_outputs
from mmkeras.branches.freezing import record_blocks
from mmkeras.layers.modeling import FeatureTokenizer


def _statistic(name, value, num_features, builder):
    array = np.asarray(value, dtype="float32")
    if array.ndim > 1 or (array.ndim == 1 and array.shape[0] not in (1, num_features)):
        raise ValueError(
            f"{builder}: `{name}` must be a scalar or have one value per feature "
            f"({num_features}); received an array of shape {array.shape}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{builder}: `{name}` must be finite; received {name}={value!r}.")
    return array


def tabular_mlp(
    num_features=8,
    hidden_units=(64,),
    output_dim=64,
    mean=None,
    variance=None,
    adapt_data=None,
    dropout=0.1,
    activation="relu",
    return_sequence=False,
    name="tabular_mlp",
    bn_momentum=0.99,
):
    """Builds a tabular branch: feature normalisation followed by an MLP.

    It reads any float feature vector: a tabular input (with `TabularSpec(impute=True)`, the
    imputed values followed by the missingness indicators) or the one-hot vectors of a
    categorical input; `pipe.num_features(name)` and `pipe.feature_stats(name)` give
    `num_features` and the statistics (`variance = std ** 2`) of either.

    Features are standardised by a `keras.layers.Normalization` layer named
    `"normalization"`. Its statistics come from `mean` and `variance` when given, from
    `adapt_data` (computed once here), or later from
    `branch.get_layer("normalization").adapt(data)`; left alone it is the identity.
    Each hidden layer is Dense -> BatchNormalization -> activation -> dropout.

    Args:
        num_features: int, number of input features.
        hidden_units: tuple of ints, width of each hidden layer (may be empty).
        output_dim: int, size of the output feature.
        mean: None, a float, or one float per feature: mean of the raw features.
        variance: None, a float, or one float per feature: variance of the raw features.
            Give both or neither.
        adapt_data: None or an array `(rows, num_features)` to compute the statistics from.
        dropout: float in [0, 1), dropout after each hidden layer.
        bn_momentum: float in [0, 1), momentum of the batch normalisations' moving statistics
            (see `image_cnn`).
        activation: activation of the hidden layers and of the output feature.
        return_sequence: bool, also return one token per feature.
        name: name of the returned model.

    Returns:
        A functional `keras.Model` taking float32 `(batch, num_features)`. It returns the
        feature `(batch, output_dim)`, or with `return_sequence=True` a dict: `"feature"`,
        `"sequence"` `(batch, num_features, output_dim)` holding one learned token per
        normalised feature (`x_f * w_f + b_f`, see `mmkeras.layers.FeatureTokenizer`), and
        `"sequence_mask"` `(batch, num_features)`, all True.

    Example:
    >>> branch = tabular_mlp(num_features=4, hidden_units=(16,), output_dim=8,
    ...                      mean=[0, 1, 2, 3], variance=[1, 1, 4, 9])
    >>> print(branch(np.zeros((2, 4), "float32")).shape)
    (2, 8)
    """
    builder = "tabular_mlp"
    check_positive_int("num_features", num_features, builder)
    hidden_units = check_positive_ints("hidden_units", hidden_units, builder, allow_empty=True)
    check_positive_int("output_dim", output_dim, builder)
    check_rate("dropout", dropout, builder)
    check_rate("bn_momentum", bn_momentum, builder)
    if (mean is None) != (variance is None):
        raise ValueError(
            f"{builder}: give both `mean` and `variance` or neither; received mean={mean!r}, "
            f"variance={variance!r}."
        )
    if mean is not None and adapt_data is not None:
        raise ValueError(f"{builder}: give either `mean`/`variance` or `adapt_data`, not both.")
    if mean is not None:
        mean = _statistic("mean", mean, num_features, builder)
        variance = _statistic("variance", variance, num_features, builder)
        if np.any(variance < 0):
            raise ValueError(f"{builder}: `variance` must be >= 0; received {variance.tolist()}.")

    features = keras.Input(shape=(num_features,), dtype="float32", name="tabular")
    normalization = keras.layers.Normalization(
        axis=-1, mean=mean, variance=variance, name="normalization"
    )
    if adapt_data is not None:
        adapt_data = np.asarray(adapt_data, dtype="float32")
        if adapt_data.ndim != 2 or adapt_data.shape[1] != num_features:
            raise ValueError(
                f"{builder}: `adapt_data` must have shape (rows, {num_features}); received "
                f"shape {adapt_data.shape}."
            )
        normalization.adapt(adapt_data)
    x = normalized = normalization(features)
    for index, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, use_bias=False, name=f"hidden{index}")(x)
        x = keras.layers.BatchNormalization(momentum=bn_momentum, name=f"hidden{index}_bn")(x)
        x = keras.layers.Activation(activation, name=f"hidden{index}_act")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"hidden{index}_dropout")(x)
    feature = keras.layers.Dense(output_dim, activation=activation, name="feature")(x)
    sequence = None
    if return_sequence:
        sequence = FeatureTokenizer(output_dim, name="sequence")(normalized)
    outputs = branch_outputs(feature, sequence, None, return_sequence)
    return record_blocks(keras.Model(features, outputs, name=name))
