"""Branches freeze and unfreeze themselves: `set_trainable(branch, False | True | k)`."""

import keras
import pytest

import mmkeras as mk
from mmkeras.branches import set_trainable, trainable_blocks

BUILDERS = {
    "image_cnn": lambda: mk.branches.image_cnn(input_shape=(32, 32, 3), filters=(4, 8)),
    "image_backbone": lambda: mk.branches.image_backbone(
        "mobilenetv2", input_shape=(32, 32, 3), output_dim=8
    ),
    "text_rnn": lambda: mk.branches.text_rnn(vocab_size=30, max_length=6, output_dim=8),
    "text_transformer": lambda: mk.branches.text_transformer(
        vocab_size=30, max_length=6, num_layers=2, output_dim=8
    ),
    "audio_cnn": lambda: mk.branches.audio_cnn(sample_rate=8000, duration=0.5),
    "audio_rnn": lambda: mk.branches.audio_rnn(sample_rate=8000, duration=0.5),
    "tabular_mlp": lambda: mk.branches.tabular_mlp(num_features=3, hidden_units=(4, 4)),
}


def _names(blocks):
    return [[layer.name for layer in block] for block in blocks]


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_every_builder_records_its_blocks_and_freezes_by_them(kind):
    branch = BUILDERS[kind]()
    blocks = trainable_blocks(branch)
    assert blocks and all(block for block in blocks)
    # Every weight of the branch belongs to exactly one block.
    in_blocks = {id(v) for block in blocks for layer in block for v in layer.weights}
    assert in_blocks == {id(v) for v in branch.weights}

    set_trainable(branch, False)
    assert not branch.trainable_weights
    set_trainable(branch, 1)
    top = {id(v) for layer in blocks[-1] for v in layer.trainable_weights}
    assert {id(v) for v in branch.trainable_weights} == top
    if len(blocks) > 1:
        assert not any(layer.trainable for layer in blocks[0])
    set_trainable(branch, len(blocks) + 5)  # more than there are: all of them
    assert all(layer.trainable for block in blocks for layer in block)
    set_trainable(branch, True)
    assert len(branch.trainable_weights) == len(
        [v for layer in branch.layers for v in layer.trainable_weights]
    )


def test_a_backbone_is_one_block_below_its_projection():
    branch = BUILDERS["image_backbone"]()
    assert _names(trainable_blocks(branch)) == [["backbone"], ["feature"]]
    set_trainable(branch, 1)
    assert not branch.get_layer("backbone").trainable_weights
    assert branch.get_layer("feature").trainable


def test_a_branch_without_recorded_blocks_has_one_per_layer_with_weights():
    inputs = keras.Input((3,))
    x = keras.layers.Dense(4, name="first")(inputs)
    x = keras.layers.Activation("relu")(x)
    branch = keras.Model(inputs, keras.layers.Dense(2, name="second")(x))
    assert _names(trainable_blocks(branch)) == [["first"], ["second"]]
    set_trainable(branch, 1)
    assert not branch.get_layer("first").trainable and branch.get_layer("second").trainable


def test_bad_settings_are_explained():
    branch = BUILDERS["tabular_mlp"]()
    with pytest.raises(ValueError, match="False, True or an int >= 0"):
        set_trainable(branch, -1)
    with pytest.raises(ValueError, match="False, True or an int >= 0"):
        set_trainable(branch, "none")
