"""Fine-tuning helpers: a lower learning rate for pretrained weights, and layer unfreezing.

Keras has no per-variable learning rate, and scaling gradients does not give one with Adam (its
update is invariant to the scale of the gradient). `DiscriminativeAdamW` therefore multiplies the
learning rate itself, per variable, inside the update step. It is a registered optimizer, so it
works with `model.fit` and is saved and restored with the model.

Example:
>>> from mmkeras.branches import text_bert
>>> bert = text_bert("bert", trainable=1, max_length=8)  # the top encoder layer trains
>>> ids = keras.Input((8,), dtype="int32")
>>> model = keras.Model(ids, keras.layers.Dense(2, activation="softmax")(bert(ids)))
>>> model.compile(
...     optimizer=DiscriminativeAdamW(1e-3, lr_multipliers=bert_lr_multipliers(bert, 0.1)),
...     loss="sparse_categorical_crossentropy",
... )
>>> tokenizer = mmkeras.data.WordPieceTokenizer("bert/vocab.txt", max_length=8)
>>> x = tokenizer(tf.constant(["the cat sat on a mat", "a dog", "the red dog", "a blue cat"]))
>>> history = model.fit(x, np.array([0, 1, 1, 0]), epochs=1, verbose=0)  # BERT at 1e-4
"""

import re

import keras
from keras import ops


def _check_multipliers(lr_multipliers):
    if lr_multipliers is None:
        return {}
    if not isinstance(lr_multipliers, dict):
        raise ValueError(
            "`lr_multipliers` must be a dict {regex over variable paths: float >= 0}; received "
            f"lr_multipliers={lr_multipliers!r}."
        )
    checked = {}
    for pattern, multiplier in lr_multipliers.items():
        if not isinstance(pattern, str):
            raise ValueError(
                f"`lr_multipliers` keys must be regex strings; received key {pattern!r}."
            )
        try:
            re.compile(pattern)
        except re.error as err:
            raise ValueError(
                f"`lr_multipliers` key {pattern!r} is not a valid regular expression: {err}."
            ) from None
        if (
            isinstance(multiplier, bool)
            or not isinstance(multiplier, (int, float))
            or not multiplier >= 0
        ):
            raise ValueError(
                f"`lr_multipliers[{pattern!r}]` must be a float >= 0; received {multiplier!r}."
            )
        checked[pattern] = float(multiplier)
    return checked


@keras.saving.register_keras_serializable(package="mmkeras")
class DiscriminativeAdamW(keras.optimizers.AdamW):
    """AdamW with a learning-rate multiplier per variable (discriminative fine-tuning).

    A variable whose `path` (e.g. `"bert_layer_5/query_kernel"`) matches a key of
    `lr_multipliers` (with `re.search`; the first matching key wins) is updated with
    `learning_rate * multiplier`, weight decay included; other variables use `learning_rate`.
    With `weight_decay=0` it is Adam. Learning-rate schedules work as usual: the multiplier
    scales the scheduled value.

    Args:
        learning_rate: float or `keras.optimizers.schedules.LearningRateSchedule`, the rate of
            variables that match no key (typically the new layers).
        lr_multipliers: dict `{regex: float >= 0}`; see `bert_lr_multipliers`.
        weight_decay: float, decoupled weight decay (scaled by each variable's learning rate).
        **kwargs: the other `keras.optimizers.AdamW` arguments (`beta_1`, `epsilon`,
            `clipnorm`, ...).

    Example:
    >>> opt = DiscriminativeAdamW(1e-3, lr_multipliers={"^bert_": 0.1})
    """

    def __init__(self, learning_rate=0.001, lr_multipliers=None, weight_decay=0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, **kwargs)
        self.lr_multipliers = _check_multipliers(lr_multipliers)
        self._compiled_multipliers = [(re.compile(p), m) for p, m in self.lr_multipliers.items()]

    def multiplier_for(self, variable):
        """Returns the learning-rate multiplier of a variable (1.0 when no key matches)."""
        path = getattr(variable, "path", None) or variable.name
        for pattern, multiplier in self._compiled_multipliers:
            if pattern.search(path):
                return multiplier
        return 1.0

    def _apply_weight_decay(self, variables):
        # Weight decay is applied in update_step instead, where the variable's multiplier is known.
        return

    def update_step(self, gradient, variable, learning_rate):
        multiplier = self.multiplier_for(variable)
        learning_rate = ops.cast(learning_rate, variable.dtype) * ops.cast(
            multiplier, variable.dtype
        )
        if self.weight_decay and self._use_weight_decay(variable):
            decay = ops.cast(self.weight_decay, variable.dtype)
            self.assign(variable, variable - variable * decay * learning_rate)
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "lr_multipliers": dict(self.lr_multipliers)}


def _bert_layers(branch):
    """Returns (embeddings, [encoder layers], pooler or None) of a `text_bert` branch.

    The layers are found by their classes, and the pooler is the top of the branch's top block
    (see `mmkeras.branches.trainable_blocks`), so nothing depends on how layers are named.
    """
    from mmkeras.branches.freezing import trainable_blocks
    from mmkeras.layers.bert import BERTEmbeddings, BERTEncoderLayer

    layers = getattr(branch, "layers", [])
    embeddings = next((layer for layer in layers if isinstance(layer, BERTEmbeddings)), None)
    encoder = [layer for layer in layers if isinstance(layer, BERTEncoderLayer)]
    if embeddings is None or not encoder:
        raise ValueError(
            "Expected a branch built by `text_bert` (with a BERTEmbeddings layer and "
            f"BERTEncoderLayer layers); received {type(branch).__name__} {branch.name!r} with "
            f"layers {[layer.name for layer in layers]}."
        )
    top = trainable_blocks(branch)[-1][-1]
    pooler = None if isinstance(top, BERTEmbeddings | BERTEncoderLayer) else top
    return embeddings, encoder, pooler


def _check_rates(multiplier, layer_decay):
    if isinstance(multiplier, bool) or not isinstance(multiplier, (int, float)) or multiplier <= 0:
        raise ValueError(f"`multiplier` must be a float > 0; received multiplier={multiplier!r}.")
    if (
        isinstance(layer_decay, bool)
        or not isinstance(layer_decay, (int, float))
        or not 0 < layer_decay <= 1
    ):
        raise ValueError(
            f"`layer_decay` must be a float in (0, 1]; received layer_decay={layer_decay!r}."
        )


def bert_lr_multipliers(branch, multiplier=0.1, layer_decay=1.0):
    """Learning-rate multipliers for the pretrained weights of a `text_bert` branch.

    Args:
        branch: the model returned by `mmkeras.branches.text_bert_branch.text_bert`.
        multiplier: float > 0, multiplier of the top encoder layer (and the pooler).
        layer_decay: float in (0, 1], layer-wise decay: encoder layer `i` of `n` gets
            `multiplier * layer_decay ** (n - 1 - i)` and the embeddings
            `multiplier * layer_decay ** n`, so lower, more general layers move less.

    Returns:
        dict `{regex: float}` for `DiscriminativeAdamW(lr_multipliers=...)`.
    """
    _check_rates(multiplier, layer_decay)
    embeddings, encoder, pooler = _bert_layers(branch)
    n = len(encoder)
    multipliers = {}
    if pooler is not None:
        multipliers[f"^{re.escape(pooler.name)}/"] = float(multiplier)
    for i, layer in enumerate(encoder):
        multipliers[f"^{re.escape(layer.name)}/"] = float(multiplier * layer_decay ** (n - 1 - i))
    multipliers[f"^{re.escape(embeddings.name)}/"] = float(multiplier * layer_decay**n)
    return multipliers


def layerwise_lr_multipliers(branch, multiplier=0.1, layer_decay=1.0):
    """Learning-rate multipliers, decaying layer by layer, for the pretrained blocks of a branch.

    Works for any branch that records its blocks (`mk.branches.pretrained`, `text_bert`,
    `image_backbone`): the top pretrained block gets `multiplier`, the one below
    `multiplier * layer_decay`, and so on down to the embeddings. A projection the builder
    added on top (`output_dim`) is not pretrained and keeps the full learning rate.

    Args:
        branch: a branch model (its `trainable_blocks`, see `mk.branches.trainable_blocks`).
        multiplier: float > 0, the multiplier of the top pretrained block.
        layer_decay: float in (0, 1], the factor from one block to the one below.

    Returns:
        dict `{regex: float}` for `DiscriminativeAdamW(lr_multipliers=...)`, one exact
        variable path each.

    Example:
    >>> branch = mmkeras.branches.text_bert("bert", max_length=8)
    >>> multipliers = layerwise_lr_multipliers(branch, 0.5, layer_decay=0.5)
    >>> sorted(set(multipliers.values()))
    [0.25, 0.5]
    """
    _check_rates(multiplier, layer_decay)
    from mmkeras.branches.freezing import trainable_blocks

    blocks = trainable_blocks(branch)
    pretrained = getattr(branch, "pretrained_blocks", len(blocks))
    blocks = blocks[:pretrained]
    multipliers = {}
    for depth, block in enumerate(reversed(blocks)):
        value = float(multiplier * layer_decay**depth)
        for layer in block:
            for variable in layer.weights:
                multipliers[f"^{re.escape(variable.path)}$"] = value
    return multipliers


def unfreeze_top_layers(branch, k):
    """Makes the top `k` encoder layers of a `text_bert` branch trainable, and freezes the rest.

    For gradual unfreezing between `fit` calls; recompile the model after calling it. It is
    `mmkeras.branches.set_trainable(branch, k)` with `k` checked against the encoder's depth.

    Args:
        branch: the model returned by `mmkeras.branches.text_bert_branch.text_bert`.
        k: int in [0, number of layers]; `k` equal to the number of layers also unfreezes the
            embeddings.
    """
    from mmkeras.branches.freezing import set_trainable

    _, encoder, _ = _bert_layers(branch)
    n = len(encoder)
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= n:
        raise ValueError(f"`k` must be an int in [0, {n}]; received k={k!r}.")
    set_trainable(branch, k)


__all__ = [
    "DiscriminativeAdamW",
    "bert_lr_multipliers",
    "layerwise_lr_multipliers",
    "unfreeze_top_layers",
]
