"""The stage plan of a run: which branches train in which epochs, at which learning rate."""

import mmkeras as mk
from mmkeras.config import from_dict
from mmkeras.train.stage import Stage, describe_plan, stage_plan


def _config(make, **sections):
    return from_dict(make(**sections), base_dir=make.dir)


def test_a_run_without_fine_tuning_is_one_stage_that_changes_nothing(tabular_config):
    config = _config(tabular_config, optimizer={"learning_rate": 0.005})
    assert stage_plan(config) == [Stage(0, 0, 2, 0.005)]
    assert describe_plan(stage_plan(config)) == "stage 1: epochs 1-2, learning rate 0.005"


def test_fine_tuning_stages_follow_each_other_at_their_own_rates(tabular_config):
    config = _config(
        tabular_config,
        optimizer={"learning_rate": 0.01},
        finetune={
            "pretrained": ["x"],
            "stages": [
                {"epochs": 2, "trainable": "none"},
                {"epochs": 1, "trainable": 1, "learning_rate": 0.001},
                {"epochs": 3, "trainable": "all", "learning_rate": 0.0001},
            ],
        },
    )
    plan = stage_plan(config)
    assert [(s.first_epoch, s.last_epoch, s.epochs) for s in plan] == [
        (0, 2, 2),
        (2, 3, 1),
        (3, 6, 3),
    ]
    assert [s.learning_rate for s in plan] == [0.01, 0.001, 0.0001]  # unset: optimizer's rate
    assert [s.trainable for s in plan] == ["none", 1, "all"]
    assert all(s.branches == ("x",) for s in plan)
    assert mk.train.Trainer(config).describe_plan() == (
        "stage 1: epochs 1-2, learning rate 0.01, branches x: frozen\n"
        "stage 2: epochs 3-3, learning rate 0.001, branches x: top 1 blocks trainable\n"
        "stage 3: epochs 4-6, learning rate 0.0001, branches x: trainable"
    )


def test_pretrained_branches_default_to_bert_and_backbones_with_weights(tabular_config):
    from mmkeras.train.stage import pretrained_branches

    config = _config(tabular_config, finetune={"stages": [{"epochs": 1}]})
    assert pretrained_branches(config) == ()  # a tabular MLP is trained from scratch
    assert stage_plan(config)[0].branches == ()
