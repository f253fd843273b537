"""From a table's inputs and a trial's values to a run configuration (`mk.config` schema).

Each trial of a `Predictor` search is a normal mmkeras run: `trial_config` writes the same
mapping a user would write in YAML, and `mk.train.fit` trains it.
"""

import dataclasses
import re

from mmkeras.auto import column_types as ct
from mmkeras.names import CLASSIFICATION, MULTILABEL, REGRESSION

TARGET = "label"
HEAD_KIND = {
    ct.BINARY: CLASSIFICATION,
    ct.MULTICLASS: CLASSIFICATION,
    ct.MULTI_LABEL: MULTILABEL,
    ct.REGRESSION: REGRESSION,
}
# Images up to this side are read at their own size; larger ones are resized to the preset's.
SMALL_IMAGE = 64
# Momentum of the branches' batch normalisations: at Keras's 0.99 the moving statistics lag
# about a hundred steps behind the weights, and on a table of a thousand rows a CNN that fits
# its training rows after two epochs still predicted one class on the tuning rows for eight;
# at 0.9 it was right on them after two (docs/predictor.md).
BN_MOMENTUM = 0.9
# Texts up to this many characters (95th percentile) are read as characters: a typo then
# changes one token, not the whole word.
SHORT_TEXT = 64


@dataclasses.dataclass
class InputPlan:
    """One model input of a `Predictor`: its name, type, manifest column(s) and sizes."""

    name: str
    kind: str
    columns: object  # str, or a list of str for the grouped numeric / categorical input
    facts: dict = dataclasses.field(default_factory=dict)

    def to_dict(self):
        return dataclasses.asdict(self)


def plan_columns(plans):
    """The table columns that `plans` read, in order."""
    columns = []
    for plan in plans:
        columns += plan.columns if isinstance(plan.columns, list) else [plan.columns]
    return columns


def path_columns(plans):
    """The table columns of `plans` that hold file paths (image and audio columns)."""
    return [p.columns for p in plans if p.kind in (ct.IMAGE, ct.AUDIO)]


def input_name(column, taken):
    """A Keras-friendly input name for `column`, distinct from those in `taken`."""
    name = re.sub(r"[^0-9a-zA-Z_]+", "_", column).strip("_").lower() or "input"
    if name[0].isdigit():
        name = f"c_{name}"
    base, i = name, 2
    while name in taken or name in (TARGET, "present"):
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


def plan_inputs(frame, base_dir, types, encoders=None):
    """The `InputPlan`s of a table: one per image, audio and text column, one for all numeric
    columns together, one for all categorical columns together.

    `encoders` maps image, audio or text columns to pretrained checkpoints (`mk.branches.pretrained`
    sources); those inputs are read at the size, rate or tokenization the checkpoint takes.
    """
    from mmkeras.auto import probes

    encoders = dict(encoders or {})
    for column in encoders:
        if types.get(column) not in (ct.IMAGE, ct.AUDIO, ct.TEXT):
            raise ValueError(
                f"Predictor: encoders[{column!r}]: a pretrained encoder reads an image, audio or "
                f"text column; {column!r} is {types.get(column, 'not a column of the table')!r}."
            )
    taken, plans = set(), []
    for column, kind in types.items():
        values = list(frame[column])
        if kind == ct.IMAGE:
            facts = probes.probe_images(values, base_dir)
        elif kind == ct.AUDIO:
            facts = probes.probe_audio(values, base_dir)
        elif kind == ct.TEXT:
            facts = probes.probe_text(values)
        else:
            continue
        if column in encoders:
            facts.update(probes.probe_encoder(kind, encoders[column]))
        plans.append(InputPlan(input_name(column, taken), kind, column, facts))
    for kind in (ct.NUMERIC, ct.CATEGORICAL):
        columns = [c for c, k in types.items() if k == kind]
        if columns:
            plans.append(InputPlan(input_name(kind, taken), kind, columns))
    return plans


def _pretrained(plan, spec):
    """Spec and branch of an input read by the pretrained encoder `plan.facts["encoder"]`."""
    return spec, {"kind": "pretrained", "source": plan.facts["encoder"], "trainable": False}


def _image(plan, preset, values):
    if "encoder" in plan.facts:
        spec = {"modality": "image", "size": plan.facts["encoder_size"], "channels": 3}
        return _pretrained(plan, spec)
    size = plan.facts.get("size")
    small = size is not None and max(size) <= SMALL_IMAGE
    spec = {
        "modality": "image",
        "size": list(size) if small else [preset.image_size] * 2,
        "channels": plan.facts.get("channels", 3),
    }
    if preset.augment:
        spec["augment"] = {"rotation": 10.0, "translate": 0.1}
    # Flattening a large image's last map would give a huge projection: it is max-pooled.
    branch = {
        "kind": "image_cnn",
        "filters": list(preset.image_filters),
        "pooling": values.get("image_pooling", "max") if small else "max",
        "bn_momentum": BN_MOMENTUM,
    }
    return spec, branch


def _audio(plan, preset, values):
    if "encoder" in plan.facts:
        rate, duration = plan.facts["encoder_sample_rate"], plan.facts.get("duration") or 1.0
        spec = {"modality": "audio", "sample_rate": rate, "duration": round(min(duration, 30.0), 3)}
        return _pretrained(plan, spec)
    rate = plan.facts.get("sample_rate") or 16000
    duration = plan.facts.get("duration") or 1.0
    spec = {
        "modality": "audio",
        "sample_rate": min(int(rate), 16000),
        "duration": round(min(max(duration, 0.25), 10.0), 3),
    }
    branch = {
        "kind": "audio_cnn",
        "n_mels": 40,
        "frame_step_ms": 20.0,
        "filters": [16, 32, 64],
        "pooling": "time_max",
        "bn_momentum": BN_MOMENTUM,
    }
    return spec, branch


def _text(plan, preset, values):
    chars, words = plan.facts.get("chars", 0), plan.facts.get("words", 0)
    if "encoder" in plan.facts:
        # Subword tokens: about 1.5 per word, plus the special tokens.
        length = min(512, max(16, int(words * 1.5) + 8))
        spec = {
            "modality": "text",
            "tokenizer": "pretrained",
            "vocab": plan.facts["encoder"],
            "max_length": length,
            "allow_empty": True,
        }
        return _pretrained(plan, spec)
    spec = {"modality": "text", "tokenizer": "word", "allow_empty": True}
    if chars <= SHORT_TEXT:
        spec.update(split="character", max_length=max(8, chars + 8), vocab_size=300)
        embedding = 32
    else:
        spec.update(split="whitespace", max_length=min(256, max(16, words + 4)), vocab_size=20000)
        embedding = 64
    branch = {
        "kind": "text_rnn",
        "vocab_size": "auto",
        "cell": "gru",
        "embedding_dim": embedding,
        "units": 64,
    }
    return spec, branch


def _numeric(plan, preset, values):
    return {"modality": "tabular", "impute": True}, {
        "kind": "tabular_mlp",
        "bn_momentum": BN_MOMENTUM,
    }


def _categorical(plan, preset, values):
    return {"modality": "categorical"}, {"kind": "tabular_mlp", "bn_momentum": BN_MOMENTUM}


_BUILDERS = {
    ct.IMAGE: _image,
    ct.AUDIO: _audio,
    ct.TEXT: _text,
    ct.NUMERIC: _numeric,
    ct.CATEGORICAL: _categorical,
}


def monitor(problem_type):
    """`(metric, mode)` that checkpoints and early stopping watch."""
    if HEAD_KIND[problem_type] == CLASSIFICATION:
        return "val_accuracy", "max"
    return "val_loss", "min"


def trial_config(
    plans, label, problem_type, values, preset, manifests, name, output_dir, seed, time_limit
):
    """The run configuration of one trial, as a mapping for `mk.config.from_dict`.

    Args:
        plans: list of `InputPlan`.
        label: str, the label column.
        problem_type: one of `column_types.PROBLEM_TYPES`.
        values: the trial's values (`presets.define_space`).
        preset: the `Preset`.
        manifests: `{"train": path, "validation": path}`.
        name: str, the run's name (its folder under `output_dir`, and the model's name).
        output_dir: str.
        seed: int.
        time_limit: float or None, seconds of training.
    """
    specs, schema, branches = {}, {}, {}
    for plan in plans:
        spec, branch = _BUILDERS[plan.kind](plan, preset, values)
        specs[plan.name] = spec
        schema[plan.name] = plan.columns
        branches[plan.name] = {
            **branch,
            "output_dim": values["width"],
            "dropout": values["dropout"],
        }
    schema[TARGET] = label
    metric, mode = monitor(problem_type)
    kind = HEAD_KIND[problem_type]
    return {
        "name": name,
        "output_dir": output_dir,
        "seed": seed,
        "data": {
            "train": manifests["train"],
            "validation": manifests["validation"],
            "schema": schema,
            "specs": specs,
            "targets": {TARGET: {"kind": kind}},
            "allow_missing": True,
            "batch_size": 32,
        },
        "model": {
            "name": name,
            "branches": branches,
            "fusion": values["fusion"],
            "modality_dropout": values["modality_dropout"],
            "task": {"kind": kind, "hidden_units": [values["width"]] * values["head_layers"]},
        },
        "optimizer": {"name": "adam", "learning_rate": values["learning_rate"]},
        "callbacks": {
            "checkpoint": {"monitor": metric, "mode": mode, "keep": "best"},
            "early_stopping": {"monitor": metric, "mode": mode, "patience": preset.patience},
            "tensorboard": False,
        },
        "train": {"epochs": preset.epochs, "time_limit": time_limit, "verbose": 0},
    }
