"""Kinds of parts are named once (`mmkeras.names`); every user of a name reads it from there."""

import pytest

from mmkeras import names


def test_task_classes_carry_their_kind():
    import mmkeras as mk

    assert mk.tasks.Classification(num_classes=3).kind == names.CLASSIFICATION
    assert mk.tasks.Classification(num_classes=2, binary=True).kind == names.CLASSIFICATION
    assert mk.tasks.MultiLabel(num_labels=3).kind == names.MULTILABEL
    assert mk.tasks.Regression().kind == names.REGRESSION
    assert mk.tasks.Task.kind is None
    kinds = [
        cls.kind for cls in (mk.tasks.Classification, mk.tasks.MultiLabel, mk.tasks.Regression)
    ]
    assert tuple(kinds) == names.HEAD_TASK_KINDS


def test_evaluation_and_export_read_the_kind_attribute():
    import mmkeras as mk
    from mmkeras.evaluate.task_kinds import normalize_task_kind
    from mmkeras.export.saved_model_export import _task_kind

    class Ranking(mk.tasks.Regression):  # a subclass keeps its parent's kind
        pass

    assert normalize_task_kind(Ranking()) == names.REGRESSION
    assert _task_kind(Ranking()) == names.REGRESSION
    assert _task_kind(mk.tasks.Classification(num_classes=2, binary=True)) == "binary"
    with pytest.raises(ValueError, match="Unknown task"):
        normalize_task_kind(mk.tasks.Task())
    with pytest.raises(TypeError, match="exports know"):
        _task_kind(mk.tasks.Task())


def test_the_config_allows_the_names_the_code_knows():
    from mmkeras.config import schema
    from mmkeras.models import BRANCH_KINDS, FUSIONS
    from mmkeras.models.captioner import DECODERS
    from mmkeras.train.strategies import STRATEGIES

    assert schema.BRANCH_KINDS == BRANCH_KINDS == names.BRANCH_KINDS
    assert schema.FUSIONS == tuple(FUSIONS) == names.FUSIONS
    assert schema.DECODERS == DECODERS == names.DECODERS
    assert schema.STRATEGIES == STRATEGIES == names.STRATEGIES
    assert schema.TASK_KINDS == names.HEAD_TASK_KINDS + names.MODEL_TASK_KINDS


def test_a_feature_vector_branch_reads_tabular_and_categorical_inputs():
    assert names.branch_reads("tabular_mlp") == ("tabular", "categorical")
    assert names.branch_reads("tabular_mlp", "categorical")
    assert not names.branch_reads("text_rnn", "categorical")
    assert names.branch_reads("pretrained", "categorical")  # decided by the checkpoint
    assert names.branch_reads("pretrained") == ()
