"""End-to-end training runs from a configuration: files, resolution, stages, restart."""

import os

import numpy as np
import pytest
import yaml

import mmkeras as mk
from mmkeras.config import ConfigError, from_dict


def _fit(make, **sections):
    config = from_dict(make(**sections), base_dir=make.dir)
    return mk.train.fit(config, verbose=False)


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
    pipe = mk.train.build_pipeline(first)
    pipe.adapt(str(tabular_config.dir / "train.csv"))
    from mmkeras.config import dump

    dump(mk.train.resolve_config(first, pipe), run_dir / "config.yaml")
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


def test_two_stage_fine_tuning_in_one_run(tabular_config):
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
