"""The contract every branch builder keeps (docs/conventions.md), checked on tiny models."""

import keras
import numpy as np
import pytest

from mmkeras import branches

RNG = np.random.default_rng(0)
IMAGES = RNG.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
TOKENS = np.array([[3, 4, 5, 0, 0], [6, 7, 8, 9, 2]], "int32")
WAVES = (0.1 * RNG.normal(size=(2, 2000))).astype("float32")
TABLE = RNG.normal(size=(2, 4)).astype("float32")

# name -> (builder call, input batch, feature size, expected sequence shape without batch)
CASES = {
    "image_cnn": (
        lambda **kw: branches.image_cnn(
            input_shape=(32, 32, 3), filters=(4, 8), output_dim=6, **kw
        ),
        IMAGES,
        6,
        (64, 8),
    ),
    "image_backbone": (
        lambda **kw: branches.image_backbone(
            "mobilenetv3small", input_shape=(32, 32, 3), output_dim=6, **kw
        ),
        IMAGES,
        6,
        (1, 576),
    ),
    "text_rnn": (
        lambda **kw: branches.text_rnn(vocab_size=12, embedding_dim=4, units=3, output_dim=6, **kw),
        TOKENS,
        6,
        (5, 6),
    ),
    "text_transformer": (
        lambda **kw: branches.text_transformer(
            vocab_size=12,
            num_layers=1,
            num_heads=2,
            embedding_dim=4,
            max_length=8,
            output_dim=6,
            **kw,
        ),
        TOKENS,
        6,
        (5, 4),
    ),
    "audio_cnn": (
        lambda **kw: branches.audio_cnn(
            sample_rate=8000, duration=0.25, n_mels=16, filters=(4, 8), output_dim=6, **kw
        ),
        WAVES,
        6,
        (7, 8),
    ),
    "audio_rnn": (
        lambda **kw: branches.audio_rnn(
            sample_rate=8000, duration=0.25, n_mels=16, units=3, output_dim=6, **kw
        ),
        WAVES,
        6,
        (26, 6),
    ),
    "tabular_mlp": (
        lambda **kw: branches.tabular_mlp(num_features=4, hidden_units=(5,), output_dim=6, **kw),
        TABLE,
        6,
        (4, 6),
    ),
}
NAMES = sorted(CASES)


def _numpy(outputs):
    if isinstance(outputs, dict):
        return {key: keras.ops.convert_to_numpy(value) for key, value in outputs.items()}
    return keras.ops.convert_to_numpy(outputs)


@pytest.mark.parametrize("name", NAMES)
def test_feature_shape_dtype_and_model_name(name):
    build, batch, dim, _ = CASES[name]
    branch = build()
    assert isinstance(branch, keras.Model)
    assert branch.name == name
    assert len(branch.inputs) == 1
    feature = _numpy(branch(batch))
    assert feature.shape == (2, dim)
    assert feature.dtype == np.float32
    assert np.isfinite(feature).all()


@pytest.mark.parametrize("name", NAMES)
def test_name_can_be_overridden(name):
    assert CASES[name][0](name="my_branch").name == "my_branch"


@pytest.mark.parametrize("name", NAMES)
def test_return_sequence_gives_feature_sequence_and_mask(name):
    build, batch, dim, sequence_shape = CASES[name]
    out = _numpy(build(return_sequence=True)(batch))
    assert set(out) == {"feature", "sequence", "sequence_mask"}
    assert out["feature"].shape == (2, dim)
    assert out["sequence"].shape == (2, *sequence_shape)
    assert out["sequence_mask"].shape == (2, sequence_shape[0])
    assert out["sequence_mask"].dtype == bool
    if name.startswith("text"):
        np.testing.assert_array_equal(out["sequence_mask"], TOKENS != 0)
    else:
        assert out["sequence_mask"].all()


@pytest.mark.parametrize("name", NAMES)
def test_return_sequence_does_not_change_the_feature(name):
    build, batch, _, _ = CASES[name]
    plain = build()
    with_sequence = build(return_sequence=True)
    for layer in plain.layers:
        if layer.weights:
            with_sequence.get_layer(layer.name).set_weights(layer.get_weights())
    np.testing.assert_allclose(
        _numpy(with_sequence(batch))["feature"], _numpy(plain(batch)), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("name", NAMES)
def test_usable_inside_a_bigger_functional_model(name):
    build, batch, _, _ = CASES[name]
    branch = build()
    raw = keras.Input(shape=batch.shape[1:], dtype=str(batch.dtype), name="raw")
    head = keras.layers.Dense(3, name="head")
    model = keras.Model(raw, head(branch(raw)))
    np.testing.assert_allclose(
        _numpy(model(batch)), _numpy(head(branch(batch))), rtol=1e-5, atol=1e-6
    )
    assert len(model.trainable_weights) == len(branch.trainable_weights) + 2


@pytest.mark.parametrize("return_sequence", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_keras_file_round_trip_in_safe_mode(name, return_sequence, tmp_path):
    build, batch, _, _ = CASES[name]
    branch = build(return_sequence=return_sequence)
    path = tmp_path / f"{name}.keras"
    branch.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    expected, got = _numpy(branch(batch)), _numpy(loaded(batch))
    if return_sequence:
        for key in expected:
            np.testing.assert_array_equal(got[key], expected[key])
    else:
        np.testing.assert_array_equal(got, expected)


def test_no_lambda_layers_in_any_branch():
    def walk(model):
        for layer in model.layers:
            assert not isinstance(layer, keras.layers.Lambda), layer.name
            if isinstance(layer, keras.Model):
                walk(layer)

    for name in NAMES:
        walk(CASES[name][0](return_sequence=True))
