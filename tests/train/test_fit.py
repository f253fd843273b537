"""End-to-end training runs from a configuration: files, resolution, stages, restart."""

import os

import numpy as np
import pytest
import yaml

import mmkeras as mk
from mmkeras.config import ConfigError, from_dict
from mmkeras.train.builders import build_pipeline, resolve_config


def _fit(make, **sections):
    config = from_dict(make(**sections), base_dir=make.dir)
    return mk.train.fit(config, verbose=False)


@pytest.fixture
def stages_seen(monkeypatch):
    """Records each stage a run trains, with the weights of the model kept around it.

    Each record is a dict: `stage`, `steps` (per epoch), and `model` and each branch key
    (`"x"`) mapping to `{"before": [arrays], "after": [arrays], "trainable": [bools]}`: the
    values of its variables before and after the stage, and which of them trained in it.
    """
    from keras.ops import convert_to_numpy

    from mmkeras.train.stage import branch_models
    from mmkeras.train.trainer import Trainer

    records = []
    train_stage = Trainer.train_stage

    def parts(trainer):
        return {"model": trainer.student, **branch_models(trainer.student, trainer.config)}

    def spy(self, stage, restore=None):
        before = {key: [convert_to_numpy(v) for v in m.variables] for key, m in parts(self).items()}
        train_stage(self, stage, restore)
        record = {"stage": stage, "steps": self.steps}
        for key, model in parts(self).items():
            record[key] = {
                "before": before[key],
                "after": [convert_to_numpy(v) for v in model.variables],
                "trainable": [v.trainable for v in model.variables],
            }
        records.append(record)

    monkeypatch.setattr(Trainer, "train_stage", spy)
    return records


def _moved(part):
    """Per weight: whether the stage changed it (random-generator states, which count the
    draws of dropout, are left out)."""
    return [
        not np.array_equal(a, b)
        for a, b in zip(part["before"], part["after"], strict=True)
        if np.issubdtype(a.dtype, np.floating)
    ]


def test_fit_writes_the_run_directory_and_resolves_auto(tabular_config):
    run = _fit(tabular_config)
    names = set(os.listdir(run.run_dir))
    assert {"config.yaml", "pipeline", "checkpoints", "metrics.csv", "model.keras"} <= names
    assert {"best.keras", "last.keras"} <= set(os.listdir(os.path.join(run.run_dir, "checkpoints")))
    saved = yaml.safe_load(open(os.path.join(run.run_dir, "config.yaml")))
    assert saved["model"]["task"]["num_classes"] == 2
    assert saved["model"]["task"]["class_names"] == ["neg", "pos"]
    assert saved["model"]["branches"]["x"]["num_features"] == 3
    assert [row["epoch"] for row in run.history] == [0, 1]
    assert set(run.metrics["validation"]) >= {"loss", "accuracy"}
    leftovers = [n for n in os.listdir(run.run_dir) if ".tmp-" in n]
    assert leftovers == []

    again = mk.train.Run.load(run.run_dir)
    ds = again.pipeline.dataset(str(tabular_config.dir / "val.csv"), batch_size=32)
    np.testing.assert_allclose(again.model.predict(ds, verbose=0), run.model.predict(ds, verbose=0))


def test_a_finished_run_is_not_trained_again(tabular_config):
    first = _fit(tabular_config)
    mtime = os.path.getmtime(os.path.join(first.run_dir, "model.keras"))
    second = _fit(tabular_config)
    assert os.path.getmtime(os.path.join(second.run_dir, "model.keras")) == mtime
    assert len(second.history) == 2


def test_resuming_with_another_config_is_refused(tabular_config, tmp_path):
    run_dir = tmp_path / "runs" / "run"
    os.makedirs(run_dir / "backup")
    first = from_dict(tabular_config(), base_dir=tabular_config.dir)
    pipe = build_pipeline(first)
    pipe.adapt(str(tabular_config.dir / "train.csv"))
    from mmkeras.config import dump

    dump(resolve_config(first, pipe), run_dir / "config.yaml")
    (run_dir / "backup" / "state.json").write_text('{"stage": 0, "epoch": 1, "batch": 0}')
    with pytest.raises(ConfigError, match="optimizer: differs from the configuration"):
        _fit(tabular_config, optimizer={"learning_rate": 0.05})


def test_data_and_model_mismatches_are_config_errors(tabular_config):
    with pytest.raises(ConfigError, match=r"model.task.kind: 'regression', but target 'label'"):
        _fit(
            tabular_config,
            model={"branches": {"x": {"kind": "tabular_mlp"}}, "task": {"kind": "regression"}},
        )
    with pytest.raises(ConfigError) as info:
        _fit(
            tabular_config,
            model={
                "branches": {"x": {"kind": "tabular_mlp", "hiden_units": [4]}},
            },
        )
    assert "model.branches.x.hiden_units: unknown argument of tabular_mlp" in str(info.value)
    assert "did you mean 'hidden_units'?" in str(info.value)
    with pytest.raises(ConfigError, match=r"model.branches.x.kind: 'text_rnn' reads text"):
        _fit(tabular_config, model={"branches": {"x": {"kind": "text_rnn"}}})


def test_two_stage_fine_tuning_in_one_run(tabular_config, stages_seen):
    run = _fit(
        tabular_config,
        finetune={
            "pretrained": ["x"],
            "stages": [
                {"epochs": 1, "trainable": "none", "learning_rate": 0.01},
                {"epochs": 2, "trainable": "all", "learning_rate": 0.001},
            ],
        },
        schedule={"name": "cosine", "warmup_epochs": 0.5},
        callbacks={"tensorboard": False, "backup": {"every_steps": 2}},
    )
    assert [row["epoch"] for row in run.history] == [0, 1, 2]
    assert run.model.branches["x"].trainable
    # Stage 1 trains only the head; stage 2 also the branch.
    rates = [row["learning_rate"] for row in run.history]
    assert rates[0] < 0.01 and rates[1] < 0.001
    first, second = stages_seen
    assert (first["stage"].trainable, second["stage"].trainable) == ("none", "all")
    # Stage 1: the branch is frozen, not one of its weights moves; the head trains.
    assert not any(first["x"]["trainable"]) and not any(_moved(first["x"]))
    assert any(_moved(first["model"]))
    # Stage 2: the branch trains too.
    assert any(second["x"]["trainable"]) and any(_moved(second["x"]))


def test_stage_trainability(tabular_config):
    from mmkeras.train.stage import Stage, branch_models

    config = from_dict(tabular_config(finetune={"pretrained": ["x"], "stages": [{"epochs": 1}]}))
    model = mk.build_model(
        branches={"x": mk.branches.tabular_mlp(num_features=3)},
        task=mk.tasks.Classification(2),
        compile=False,
    )
    branch = model.branches["x"]
    branches = branch_models(model, config)

    def apply(trainable):
        Stage(0, 0, 1, 0.01, trainable, ("x",)).apply(branches)

    apply("none")
    assert not branch.trainable_weights and model.trainable_weights
    apply(1)
    weighted = [layer for layer in branch.layers if layer.weights]
    assert [layer.trainable for layer in weighted][-1] and not weighted[0].trainable
    apply("all")
    assert all(layer.trainable for layer in weighted)


def test_class_weights_gradient_clipping_and_bfloat16(tabular_config):
    import keras

    run = _fit(
        tabular_config,
        train={
            "epochs": 1,
            "verbose": 0,
            "class_weight": "balanced",
            "mixed_precision": "mixed_bfloat16",
        },
        optimizer={"name": "sgd", "learning_rate": 0.05, "momentum": 0.9, "clipnorm": 1.0},
        schedule={"name": "plateau", "patience": 0},
        callbacks={"tensorboard": False, "early_stopping": {"patience": 1}},
    )
    assert run.model.get_layer("fusion").dtype_policy.name == "mixed_bfloat16"
    assert run.model.output.dtype == "float32"
    assert keras.config.dtype_policy().name == "float32"
    assert np.isfinite(run.history[0]["loss"])


def test_class_weights_shift_the_model_towards_the_heavier_class(tabular_config):
    # Same seed, data and steps; only the weight of each class's samples in the loss differs.
    common = {"optimizer": {"name": "sgd", "learning_rate": 0.3}}
    train = {"epochs": 3, "verbose": 0}
    plain = _fit(tabular_config, name="plain", train=train, **common)
    weights = {"neg": 0.02, "pos": 1.0}
    weighted = _fit(
        tabular_config, name="weighted", train={**train, "class_weight": weights}, **common
    )
    ds = plain.pipeline.dataset(str(tabular_config.dir / "val.csv"), batch_size=32)
    positive = plain.pipeline.labels.index("pos")
    p_plain = plain.model.predict(ds, verbose=0)[:, positive].mean()
    p_weighted = weighted.model.predict(ds, verbose=0)[:, positive].mean()
    assert p_weighted > p_plain + 0.05


def test_gradient_clipping_bounds_every_update(tabular_config, stages_seen):
    # Plain SGD moves each variable by learning_rate * gradient per step; `clipnorm` caps the
    # norm of each variable's gradient, so a variable moves at most steps * rate * clipnorm.
    rate, clipnorm = 0.1, 1e-3
    train = {"epochs": 1, "verbose": 0}
    _fit(tabular_config, name="free", train=train, optimizer={"name": "sgd", "learning_rate": rate})
    _fit(
        tabular_config,
        name="clipped",
        train=train,
        optimizer={"name": "sgd", "learning_rate": rate, "clipnorm": clipnorm},
    )
    free, clipped = stages_seen

    def largest_step(record):
        part = record["model"]
        return max(
            float(np.linalg.norm(after - before))
            for before, after, trainable in zip(
                part["before"], part["after"], part["trainable"], strict=True
            )
            if trainable
        )

    bound = clipped["steps"] * rate * clipnorm
    assert largest_step(clipped) <= bound * 1.001
    assert largest_step(free) > 10 * bound  # without clipping the same steps go much further
