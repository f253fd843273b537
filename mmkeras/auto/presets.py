"""Presets of the `Predictor`: what each trial may try, and how long it may train.

A preset fixes the epochs, the patience of early stopping, the image size of large images and
the augmentation; its search space says which fusions, widths, learning rates and dropouts
KerasTuner may draw. The first trial of a search always trains the space's defaults, which
are the branch choices measured best on the bundled AV-Digits data (docs/demo.md).
"""

import dataclasses

from mmkeras.argument_checks import check_choice


@dataclasses.dataclass(frozen=True)
class Preset:
    """One preset: training length, input sizes and the search space.

    Attributes:
        epochs: int, most epochs of a trial (early stopping usually ends it sooner).
        patience: int, epochs without a better validation score before a trial stops.
        image_size: int, side of images larger than 64 pixels (smaller ones keep their size).
        image_filters: tuple of int, filters of the image CNN blocks.
        augment: bool, light image augmentation (rotation, translation) in training.
        fusions: tuple of str, the fusions a search may draw (the first is the default).
        widths: tuple of int, branch output widths (the first is the default).
        learning_rates: tuple of float, `(default, low, high)` of a log-uniform draw.
        dropouts: tuple of float, branch dropouts (the first is the default).
        modality_dropouts: tuple of float, modality dropouts (the first is the default).
        max_trials: int, most trials of a search (the time limit usually ends it sooner).
        ensemble: bool, try an ensemble of the best trials.
    """

    epochs: int
    patience: int
    image_size: int
    image_filters: tuple
    augment: bool
    fusions: tuple
    widths: tuple
    learning_rates: tuple
    dropouts: tuple
    modality_dropouts: tuple
    max_trials: int
    ensemble: bool


MEDIUM = Preset(
    epochs=30,
    patience=5,
    image_size=96,
    image_filters=(16, 32, 64),
    augment=False,
    fusions=("concat", "gated", "attention", "low_rank"),
    widths=(64, 128),
    learning_rates=(2e-3, 5e-4, 4e-3),
    dropouts=(0.0, 0.1, 0.3),
    modality_dropouts=(0.0, 0.1, 0.2),
    max_trials=20,
    ensemble=True,
)
PRESETS = {
    # One trial of the defaults.
    "fast": dataclasses.replace(
        MEDIUM,
        epochs=10,
        patience=3,
        image_size=64,
        fusions=MEDIUM.fusions[:1],
        widths=MEDIUM.widths[:1],
        learning_rates=(2e-3, 1e-3, 3e-3),
        dropouts=MEDIUM.dropouts[:1],
        modality_dropouts=MEDIUM.modality_dropouts[:1],
        max_trials=1,
        ensemble=False,
    ),
    "medium": MEDIUM,
    # Longer trials, larger images and branches, augmentation, more of the search space.
    "best": dataclasses.replace(
        MEDIUM,
        epochs=60,
        patience=8,
        image_size=128,
        image_filters=(32, 64, 128),
        augment=True,
        fusions=(*MEDIUM.fusions, "cross_attention"),
        widths=(*MEDIUM.widths, 256),
        learning_rates=(2e-3, 3e-4, 5e-3),
        max_trials=50,
    ),
}


def get_preset(name):
    """The `Preset` called `name`; a `ValueError` lists the presets otherwise."""
    return PRESETS[check_choice("preset", name, list(PRESETS), "Predictor")]


def define_space(hp, preset, kinds):
    """Declares the preset's search space on a `keras_tuner.HyperParameters`; returns its values.

    Args:
        hp: the trial's `keras_tuner.HyperParameters`.
        preset: a `Preset`.
        kinds: list of the inputs' column types (`"image"`, `"text"`, ...).

    With one input there is nothing to fuse or drop: the fusion and modality dropout stay fixed.
    With an image input, the image CNN's pooling is searched: flattening the last map keeps
    where things are (best on AV-Digits' centred digits), global max pooling finds a shape
    anywhere in the image.
    """
    num_inputs = len(kinds)
    values = {
        "width": hp.Choice("width", list(preset.widths), default=preset.widths[0]),
        "learning_rate": hp.Float(
            "learning_rate",
            preset.learning_rates[1],
            preset.learning_rates[2],
            sampling="log",
            default=preset.learning_rates[0],
        ),
        "dropout": hp.Choice("dropout", list(preset.dropouts), default=preset.dropouts[0]),
        # Hidden layers of the head: one lets the model combine inputs non-linearly (a label
        # that depends on two columns jointly needs it; a linear head on concatenated branch
        # outputs cannot learn an exclusive-or of two inputs).
        "head_layers": hp.Choice("head_layers", [1, 0], default=1),
        "fusion": "concat",
        "modality_dropout": 0.0,
    }
    if "image" in kinds:
        values["image_pooling"] = hp.Choice("image_pooling", ["flatten", "max"], default="flatten")
    if num_inputs > 1:
        values["fusion"] = hp.Choice("fusion", list(preset.fusions), default=preset.fusions[0])
        values["modality_dropout"] = hp.Choice(
            "modality_dropout",
            list(preset.modality_dropouts),
            default=preset.modality_dropouts[0],
        )
    return values
