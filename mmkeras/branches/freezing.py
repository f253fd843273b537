"""How a branch freezes and unfreezes itself: `set_trainable(branch, False | True | k)`.

Each builder in `mmkeras.branches` records on the model it returns which of its sub-layers are
its *blocks*, bottom (nearest the input) to top, as `branch.trainable_blocks`: a tuple of blocks,
each a tuple of layer names that train or freeze together. `set_trainable(branch, k)` then
trains the top `k` blocks and freezes the rest, whatever the branch's layers are called. A
`text_bert` branch's blocks are its encoder layers (the embeddings go with the lowest, the
pooler with the top one); other builders make one block of each layer holding weights. A block
member may sit inside a nested network (the transformer layers of a pretrained backbone); it is
recorded by its path of layer names, `"backbone/transformer_layer_3"`.
"""

from mmkeras import compat

PATH_SEPARATOR = "/"

BLOCKS_ATTRIBUTE = "trainable_blocks"


def _layers_with_weights(branch):
    return tuple((layer.name,) for layer in branch.layers if layer.weights)


def _find(branch, path):
    """The layer at `path` (layer names joined by "/") below `branch`."""
    layer = branch
    for part in path.split(PATH_SEPARATOR):
        children = {child.name: child for child in compat.sublayers(layer)}
        if part not in children:
            raise ValueError(
                f"no layer {part!r} in {layer.name!r} (looking for {path!r} in {branch.name!r})"
            )
        layer = children[part]
    return layer


def _path(branch, target):
    """The path of layer names from `branch` down to the layer object `target`."""
    stack = [(child, child.name) for child in compat.sublayers(branch)]
    while stack:
        layer, path = stack.pop()
        if layer is target:
            return path
        stack.extend((c, path + PATH_SEPARATOR + c.name) for c in compat.sublayers(layer))
    raise ValueError(f"layer {target.name!r} is not inside {branch.name!r}")


def record_blocks(branch, blocks=None):
    """Records the blocks of a branch, bottom to top, and returns the branch.

    Args:
        branch: a functional `keras.Model`.
        blocks: optional list of blocks, each a layer (at any depth inside `branch`) or a
            layer name (of a direct layer of `branch`), or a list of them; default: one block
            per layer holding weights, in the model's layer order.

    Returns:
        `branch`, with `branch.trainable_blocks` set to a tuple of tuples of layer names.
    """
    if blocks is None:
        names = _layers_with_weights(branch)
    else:
        names = []
        for block in blocks:
            members = block if isinstance(block, list | tuple) else (block,)
            names.append(tuple(m if isinstance(m, str) else _path(branch, m) for m in members))
        names = tuple(names)
    for block in names:
        for name in block:
            _find(branch, name)  # fails here, at build time, for a misspelt name
    setattr(branch, BLOCKS_ATTRIBUTE, names)
    return branch


def trainable_blocks(branch):
    """The blocks of a branch, bottom to top: a list of lists of its layers.

    A model without recorded blocks (a custom branch, or one loaded from a file) has one
    block per layer holding weights.
    """
    names = getattr(branch, BLOCKS_ATTRIBUTE, None)
    if names is None:
        names = _layers_with_weights(branch)
    return [[_find(branch, name) for name in block] for block in names]


def _set_all(layer, value):
    # Freezing a functional model leaves its layers' own flags as they were, and a later
    # unfreeze would keep a top-k split: set every nested layer explicitly.
    layer.trainable = value
    for inner in compat.sublayers(layer):
        _set_all(inner, value)


LORA_ATTRIBUTE = "lora_adapters_only"


def _keep_lora_frozen(layer):
    # A network fine-tuned through LoRA adapters (marked by the builder) trains its adapter
    # kernels only, in the layers that are trainable: making a layer trainable made all its
    # variables trainable again.
    if getattr(layer, LORA_ATTRIBUTE, False):
        _adapters_only(layer)
        return
    for inner in compat.sublayers(layer):
        _keep_lora_frozen(inner)


def _adapters_only(layer):
    inner = compat.sublayers(layer)
    nested = {id(w) for sub in inner for w in sub.weights}
    for variable in layer.weights:
        if id(variable) not in nested:  # the layer's own variables
            variable.trainable = layer.trainable and variable.name.startswith("lora_kernel")
    for sub in inner:
        _adapters_only(sub)


def set_trainable(branch, trainable):
    """Freezes a branch, unfreezes it, or trains only its top `k` blocks.

    Args:
        branch: a branch model (from `mmkeras.branches`, or any functional `keras.Model`).
        trainable: `False` freezes every layer, `True` trains every layer, an int `k >= 0`
            trains the top `k` blocks (see `trainable_blocks`) and freezes the lower ones; a
            `k` above the number of blocks trains them all. For a branch whose top blocks are
            new layers on a pretrained encoder (`branch.pretrained_blocks` set, as
            `mk.branches.pretrained` does for its `output_dim` projection), `k` counts the
            encoder's blocks and the new layers train with any `k > 0`.

    Returns:
        `branch`.

    Example:
    >>> bert = mmkeras.branches.text_bert("bert", max_length=8)  # two encoder layers
    >>> bert = set_trainable(bert, 1)  # the top encoder layer trains
    >>> 0 < len(bert.trainable_weights) < len(bert.weights)  # embeddings, lower layer frozen
    True
    """
    if isinstance(trainable, bool):
        _set_all(branch, trainable)
        _keep_lora_frozen(branch)
        return branch
    if not isinstance(trainable, int) or trainable < 0:
        raise ValueError(
            "set_trainable: `trainable` must be False, True or an int >= 0 (the number of top "
            f"blocks to train); received trainable={trainable!r}."
        )
    blocks = trainable_blocks(branch)
    new_layers = len(blocks) - getattr(branch, "pretrained_blocks", len(blocks))
    if trainable > 0:
        trainable += new_layers
    _set_all(branch, True)
    for block in blocks[: max(len(blocks) - trainable, 0)]:
        for layer in block:
            _set_all(layer, False)
    _keep_lora_frozen(branch)
    return branch


__all__ = ["record_blocks", "set_trainable", "trainable_blocks"]
