"""Knowledge distillation: `Distiller` with model.fit, and `distill:` runs from a config."""

import numpy as np

import mmkeras as mk
from mmkeras.config import from_dict
from mmkeras.models.distiller import Distiller

NOISE = 0.42  # share of wrong labels in the student's small training set


def _data(n, seed, noise):
    """Label = sign of a0 + a1; `b` is extra information only the teacher gets."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, 2)).astype("float32")
    b = (a[:, :1] + a[:, 1:]).astype("float32") + 0.1 * rng.normal(size=(n, 1)).astype("float32")
    y = (a[:, 0] + a[:, 1] > 0).astype("int32")
    flip = rng.random(n) < noise
    y_noisy = np.where(flip, 1 - y, y)
    return {"a": a, "b": b}, y, y_noisy


def _model(inputs, seed):
    import keras

    keras.utils.set_random_seed(seed)
    branches = {
        k: mk.branches.tabular_mlp(
            num_features=d, hidden_units=(16,), output_dim=8, dropout=0.0, name=f"{k}_mlp"
        )
        for k, d in inputs.items()
    }
    return mk.build_model(branches=branches, task=mk.tasks.Classification(2), compile=False)


def test_distilled_student_beats_the_student_trained_on_labels_alone():
    import keras

    # The teacher saw plenty of clean data and a modality the student lacks; the student gets
    # 48 rows whose labels are 42% wrong. The teacher's soft targets correct those labels.
    x_big, y_big, _ = _data(800, 0, 0.0)
    x_small, _, y_small_noisy = _data(48, 1, NOISE)
    x_test, y_test, _ = _data(500, 2, 0.0)

    teacher = _model({"a": 2, "b": 1}, seed=0).compile_defaults(learning_rate=0.01)
    teacher.fit(x_big, y_big, epochs=8, batch_size=32, verbose=0)

    def student_accuracy(distill):
        student = _model({"a": 2}, seed=5)
        if distill:
            model = Distiller(student, teacher, temperature=2.0, alpha=0.1)
            model.compile(
                optimizer=keras.optimizers.Adam(0.01),
                loss=student.tasks["label"].loss,
                metrics=["accuracy"],
            )
        else:
            model = student.compile_defaults(learning_rate=0.01)
            x_small_student = {"a": x_small["a"]}
        data = x_small if distill else x_small_student
        history = model.fit(data, y_small_noisy, epochs=60, batch_size=16, verbose=0)
        assert np.isfinite(history.history["loss"][-1])
        predictions = student.predict({"a": x_test["a"]}, verbose=0).argmax(-1)
        return float((predictions == y_test).mean())

    labels_only = student_accuracy(False)
    distilled = student_accuracy(True)
    assert distilled > labels_only + 0.03, (distilled, labels_only)


def test_distiller_round_trips_and_picks_present_columns(tmp_path):
    import keras

    teacher = _model({"a": 2, "b": 1}, seed=0)
    student = _model({"b": 1}, seed=1)
    distiller = Distiller(student, teacher, modalities=["a", "b"], temperature=3.0, alpha=0.4)
    x, _, _ = _data(4, 0, 0.0)
    present = np.array([[1, 1], [1, 0], [0, 1], [1, 1]], "float32")
    out = distiller({**x, "present": present})
    expected = student({"b": x["b"], "present": present[:, 1:]})
    np.testing.assert_allclose(out, expected, atol=1e-6)
    distiller.compile(optimizer="adam", loss=student.tasks["label"].loss)
    distiller.fit({**x, "present": present}, np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    path = str(tmp_path / "d.keras")
    distiller.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, Distiller) and loaded.temperature == 3.0
    np.testing.assert_allclose(loaded(x), distiller(x), atol=1e-6)


def test_distill_run_from_a_config(tabular_config):
    teacher = mk.train.fit(
        from_dict(tabular_config(name="teacher"), base_dir=tabular_config.dir), verbose=False
    )
    config = tabular_config(
        name="student",
        model={"branches": {"x": {"kind": "tabular_mlp", "hidden_units": [4], "output_dim": 4}}},
        distill={"teacher": teacher.run_dir, "temperature": 2.0, "alpha": 0.5},
    )
    run = mk.train.fit(from_dict(config, base_dir=tabular_config.dir), verbose=False)
    assert not isinstance(run.model, Distiller)
    assert run.model.branches["x"].get_layer("hidden0").units == 4
    assert len(run.history) == 2 and np.isfinite(run.history[-1]["loss"])
    assert 0.0 <= run.metrics["validation"]["accuracy"] <= 1.0


def test_a_distiller_compiles_with_its_students_task_losses():
    import keras
    import pytest

    student = _model({"a": 2}, seed=5)
    teacher = _model({"a": 2, "b": 1}, seed=0)
    distiller = Distiller(student, teacher).compile_defaults(learning_rate=0.02)
    assert distiller.compiled
    assert isinstance(distiller.optimizer, keras.optimizers.Adam)
    assert float(distiller.optimizer.learning_rate) == pytest.approx(0.02)
    expected = student.task_compile_arguments()["loss"]
    assert keras.losses.serialize(distiller.loss) == keras.losses.serialize(expected)
    x, y, _ = _data(32, 3, 0.0)
    logs = distiller.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert np.isfinite(logs.history["loss"][0]) and "accuracy" in logs.history

    inputs = keras.Input((2,), name="a")
    plain = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    with pytest.raises(ValueError, match="has no task losses to compile with"):
        Distiller(plain, teacher).compile_defaults()
