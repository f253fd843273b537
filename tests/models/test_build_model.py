"""Behaviour of `mk.build_model`: fusion beats single branches, masks, save/load, errors."""

import keras
import numpy as np
import pytest

import mmkeras as mk
from mmkeras.models import FUSIONS

FUSION_NAMES = sorted(FUSIONS)


def _xor_data(n, seed):
    """Three 4-d modalities; the label is the XOR of signs in `a` and `b`; `c` is noise.

    Each modality alone carries no information about the label (chance is 50%), so only a
    model that combines `a` and `b` can do better than chance.
    """
    rng = np.random.default_rng(seed)
    x = {k: rng.normal(size=(n, 4)).astype("float32") for k in "abc"}
    y = ((x["a"][:, 0] > 0) ^ (x["b"][:, 0] > 0)).astype("int32")
    return x, y


def _branches(keys, sequence=False):
    return {
        k: mk.branches.tabular_mlp(
            num_features=4,
            hidden_units=(16,),
            output_dim=16,
            return_sequence=sequence,
            name=f"mlp_{k}",
        )
        for k in keys
    }


def _fit_accuracy(keys, fusion):
    x_train, y_train = _xor_data(512, seed=1)
    x_test, y_test = _xor_data(256, seed=2)
    keras.utils.set_random_seed(0)
    model = mk.build_model(
        branches=_branches(keys, sequence=fusion == "cross_attention"),
        fusion=fusion,
        task=mk.tasks.Classification(num_classes=2, hidden_units=(32,)),
        learning_rate=1e-2,
    )
    model.fit({k: x_train[k] for k in keys}, y_train, epochs=30, batch_size=64, verbose=0)
    probs = model.predict({k: x_test[k] for k in keys}, verbose=0)
    return float(np.mean(np.argmax(probs, axis=-1) == y_test))


@pytest.fixture(scope="module")
def single_branch_accuracy():
    return {k: _fit_accuracy([k], "concat") for k in "abc"}


@pytest.mark.slow
@pytest.mark.parametrize("fusion", FUSION_NAMES)
def test_fusion_beats_every_single_branch(fusion, single_branch_accuracy):
    fused = _fit_accuracy(["a", "b", "c"], fusion)
    best_single = max(single_branch_accuracy.values())
    assert best_single < 0.65, single_branch_accuracy  # each modality alone is near chance
    assert fused >= best_single + 0.2, (fusion, fused, single_branch_accuracy)


def _model(fusion, modality_dropout=0.0):
    keras.utils.set_random_seed(0)
    return mk.build_model(
        branches=_branches("abc", sequence=fusion == "cross_attention"),
        fusion=fusion,
        task=mk.tasks.Classification(num_classes=3),
        modality_dropout=modality_dropout,
    )


@pytest.mark.parametrize("fusion", FUSION_NAMES)
def test_absent_modality_changes_output_only_through_present_ones(fusion):
    model = _model(fusion)
    x, _ = _xor_data(8, seed=3)
    present = np.ones((8, 3), "float32")
    present[:4, 2] = 0.0  # modality "c" absent in the first four samples
    present[4:6, 0] = 0.0  # modality "a" absent in two others
    out = model.predict({**x, "present": present}, verbose=0)
    changed = {k: v.copy() for k, v in x.items()}
    changed["c"][:4] = np.random.default_rng(9).normal(size=(4, 4)) * 10
    changed["a"][4:6] = -changed["a"][4:6] * 7
    changed["b"][6:] = -changed["b"][6:] * 7  # "b" is present there
    out_changed = model.predict({**changed, "present": present}, verbose=0)
    np.testing.assert_allclose(out_changed[:6], out[:6], atol=1e-6)
    # Present inputs still matter: changing a present modality changes the output.
    assert np.abs(out_changed[6:] - out[6:]).max() > 1e-4
    # No presence input means every modality is present.
    np.testing.assert_allclose(
        model.predict(x, verbose=0),
        model.predict({**x, "present": np.ones((8, 3), "float32")}, verbose=0),
        atol=1e-6,
    )


@pytest.mark.parametrize("fusion", FUSION_NAMES)
def test_save_and_load_reproduce_predictions(fusion, tmp_path):
    model = _model(fusion, modality_dropout=0.2)
    x, y = _xor_data(32, seed=4)
    model.fit(x, y % 3, epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, mk.models.MultimodalModel)
    assert loaded.modalities == ["a", "b", "c"]
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    present = np.ones((32, 3), "float32")
    present[::2, 1] = 0
    np.testing.assert_array_equal(
        model.predict({**x, "present": present}, verbose=0),
        loaded.predict({**x, "present": present}, verbose=0),
    )


def _all_layers(layer):
    yield layer
    for sub in getattr(layer, "layers", []):
        yield from _all_layers(sub)


def _branch_cases():
    return {
        "image_cnn": (
            lambda: mk.branches.image_cnn(input_shape=(16, 16, 3), filters=(4, 8), output_dim=8),
            lambda rng: rng.uniform(0, 255, (4, 16, 16, 3)).astype("float32"),
        ),
        "image_backbone": (
            lambda: mk.branches.image_backbone(
                "mobilenetv3small",
                input_shape=(32, 32, 3),
                weights=None,
                trainable=False,
                output_dim=8,
            ),
            lambda rng: rng.uniform(0, 255, (4, 32, 32, 3)).astype("float32"),
        ),
        "text_rnn": (
            lambda: mk.branches.text_rnn(vocab_size=50, cell="gru", output_dim=8),
            lambda rng: rng.integers(0, 50, (4, 7)).astype("int32"),
        ),
        "text_transformer": (
            lambda: mk.branches.text_transformer(
                vocab_size=50, num_layers=1, output_dim=8, max_length=7
            ),
            lambda rng: rng.integers(0, 50, (4, 7)).astype("int32"),
        ),
        "audio_cnn": (
            lambda: mk.branches.audio_cnn(sample_rate=8000, duration=0.25, output_dim=8),
            lambda rng: rng.uniform(-1, 1, (4, 2000)).astype("float32"),
        ),
        "audio_rnn": (
            lambda: mk.branches.audio_rnn(sample_rate=8000, duration=0.25, output_dim=8),
            lambda rng: rng.uniform(-1, 1, (4, 2000)).astype("float32"),
        ),
        "tabular_mlp": (
            lambda: mk.branches.tabular_mlp(num_features=5, output_dim=8),
            lambda rng: rng.normal(size=(4, 5)).astype("float32"),
        ),
    }


@pytest.mark.slow
def test_every_branch_kind_round_trips_inside_a_model(tmp_path, rng):
    cases = _branch_cases()
    model = mk.build_model(
        branches={kind: make() for kind, (make, _) in cases.items()},
        fusion="gated",
        task=mk.tasks.Classification(num_classes=4),
    )
    x = {kind: data(rng) for kind, (_, data) in cases.items()}
    model.fit(x, np.arange(4) % 4, epochs=1, verbose=0)
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in _all_layers(model))
    path = tmp_path / "all_branches.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))


def test_build_model_keeps_the_names_of_the_callers_branches(tmp_path):
    # Two branches from one builder share a name, and a third is named like an input: the model
    # needs unique names, but the caller's objects keep theirs and still hold the weights.
    shared = {k: mk.branches.tabular_mlp(num_features=4, output_dim=8) for k in "ab"}
    shared["c"] = mk.branches.tabular_mlp(num_features=4, output_dim=8, name="a")
    names = {k: b.name for k, b in shared.items()}
    assert names["a"] == names["b"]
    model = mk.build_model(branches=shared, fusion="concat", task=mk.tasks.Regression())
    assert {k: b.name for k, b in shared.items()} == names
    assert all(model.branches[k] is shared[k] for k in shared)
    x, _ = _xor_data(8, seed=3)
    before = shared["b"].predict(x["b"], verbose=0)
    model.fit(x, x["a"][:, :1], epochs=1, verbose=0)
    assert not np.allclose(shared["b"].predict(x["b"], verbose=0), before)
    path = tmp_path / "same_names.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), loaded.predict(x, verbose=0), atol=1e-6)


def test_multi_task_model_has_named_outputs_and_trains():
    x, y = _xor_data(64, seed=5)
    model = mk.build_model(
        branches=_branches("ab"),
        fusion="mlp",
        task={
            "xor": mk.tasks.Classification(num_classes=2),
            "tags": mk.tasks.MultiLabel(num_labels=3),
            "score": mk.tasks.Regression(num_outputs=1),
        },
    )
    targets = {
        "xor": y,
        "tags": (np.stack([x["a"][:, 0], x["b"][:, 0], x["a"][:, 1]], -1) > 0).astype("float32"),
        "score": x["a"][:, :1] + x["b"][:, :1],
    }
    history = model.fit({k: x[k] for k in "ab"}, targets, epochs=8, verbose=0)
    assert set(model.output_names) == {"xor", "tags", "score"}
    out = model.predict({k: x[k] for k in "ab"}, verbose=0)
    assert (
        out["xor"].shape == (64, 2)
        and out["tags"].shape == (64, 3)
        and out["score"].shape == (64, 1)
    )
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_trains_from_a_dataset_without_presence_input():
    import tensorflow as tf

    x, y = _xor_data(64, seed=6)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    model = _model("attention")
    history = model.fit(ds, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_attention_weights_are_a_distribution_over_present_modalities():
    model = _model("attention")
    x, _ = _xor_data(6, seed=7)
    present = np.ones((6, 3), "float32")
    present[:3, 1] = 0
    weights = model.attention_weights_model().predict({**x, "present": present}, verbose=0)
    assert weights.shape == (6, 3)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(weights[:3, 1], 0.0, atol=1e-7)
    # Without the presence input every modality takes part.
    weights_all = model.attention_weights_model().predict(x, verbose=0)
    assert (weights_all > 0).all()


def test_branch_given_as_kind_dict():
    model = mk.build_model(
        branches={"t": {"kind": "tabular_mlp", "num_features": 3, "output_dim": 4}},
        task=mk.tasks.Regression(),
    )
    assert model.predict({"t": np.zeros((2, 3), "float32")}, verbose=0).shape == (2, 1)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            {"fusion": "averaging"},
            ValueError,
            "Unknown fusion 'averaging'. Allowed: 'concat', 'sum'",
        ),
        ({"fusion": 3}, ValueError, "Unknown fusion 3"),
        ({"task": "classification"}, TypeError, "`task` must be a mmkeras.tasks.Task"),
        ({"task": None}, ValueError, "`task` is required"),
        ({"task": {"x": "y"}}, TypeError, "Task 'x' must be a mmkeras.tasks.Task"),
        ({"branches": {}}, ValueError, "`branches` must be a non-empty dict"),
        (
            {"branches": {"a": {"kind": "image_vit"}}},
            ValueError,
            "Unknown branch kind 'image_vit'. Allowed kinds: image_cnn",
        ),
        ({"branches": {"a": {"input_shape": 3}}}, ValueError, "dict without 'kind'"),
        ({"branches": {"a": keras.layers.Dense(3)}}, TypeError, "Branch 'a' must be a keras.Model"),
        ({"branches": {"present": None}}, ValueError, "'present' is reserved"),
        ({"branches": {"2d": None}}, ValueError, "Branch key '2d' is not allowed"),
        ({"modality_dropout": 1.0}, ValueError, "`modality_dropout` must be in [0, 1)"),
        ({"fusion": "cross_attention"}, ValueError, "Build them with return_sequence=True"),
        ({"fusion_kwargs": {"colour": 1}}, ValueError, "does not take ['colour']"),
    ],
)
def test_build_errors_say_what_was_received_and_what_is_allowed(kwargs, error, message):
    args = {
        "branches": _branches("ab"),
        "fusion": "concat",
        "task": mk.tasks.Classification(num_classes=2),
        **kwargs,
    }
    with pytest.raises(error) as info:
        mk.build_model(**args)
    assert message in str(info.value)


def test_branch_that_does_not_output_a_feature_is_rejected():
    inp = keras.Input((8, 8, 3))
    grid = keras.Model(inp, keras.layers.Conv2D(4, 3)(inp), name="grid")
    with pytest.raises(
        ValueError, match=r"outputs \(None, 6, 6, 4\); a branch must output a feature"
    ):
        mk.build_model(branches={"image": grid}, task=mk.tasks.Classification(num_classes=2))


def test_task_argument_errors():
    with pytest.raises(ValueError, match="num_classes` must be an integer >= 2, received 1"):
        mk.tasks.Classification(num_classes=1)
    with pytest.raises(ValueError, match="binary=True\\) needs num_classes=2"):
        mk.tasks.Classification(num_classes=3, binary=True)
    with pytest.raises(ValueError, match="`loss` must be one of"):
        mk.tasks.Regression(loss="l3")
    with pytest.raises(ValueError, match="valid identifier"):
        mk.tasks.MultiLabel(num_labels=2, name="my label")


def test_load_model_in_a_fresh_process(tmp_path):
    import subprocess
    import sys

    model = mk.build_model(branches=_branches("ab"), fusion="gated", task=mk.tasks.Regression())
    x, _ = _xor_data(4, seed=8)
    x = {k: x[k] for k in "ab"}
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "expected.npy", model.predict(x, verbose=0))
    np.savez(tmp_path / "x.npz", **x)
    script = (
        "import numpy as np, mmkeras as mk\n"
        f"m = mk.load_model({str(tmp_path / 'm.keras')!r})\n"
        f"x = dict(np.load({str(tmp_path / 'x.npz')!r}))\n"
        f"np.testing.assert_array_equal(m.predict(x, verbose=0), np.load({str(tmp_path / 'expected.npy')!r}))\n"
        "print(type(m).__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "MultimodalModel"


def test_fit_trains_in_training_mode():
    """`fit` must run the branches in training mode: batch norm statistics move, dropout drops."""
    branch = mk.branches.image_cnn(input_shape=(8, 8, 3), filters=(4,), output_dim=4, dropout=0.5)
    model = mk.build_model(branches={"image": branch}, task=mk.tasks.Classification(num_classes=2))
    batch_norm = branch.get_layer("block0_conv0_bn")
    x = {"image": np.random.default_rng(0).uniform(0, 255, (16, 8, 8, 3)).astype("float32")}
    model.fit(x, np.zeros(16), epochs=1, batch_size=16, verbose=0)
    assert np.abs(batch_norm.moving_mean.numpy()).max() > 0
    in_training = model(x, training=True)
    assert not np.allclose(in_training, model(x, training=True))  # dropout is random
    np.testing.assert_allclose(model(x), model(x, training=False))
