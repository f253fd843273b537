"""`image_cnn(pooling=...)`: shapes, serialization, errors, and what each pooling can learn."""

import keras
import numpy as np
import pytest

from mmkeras import branches
from mmkeras.layers.modeling import SpatialAttentionPooling

POOLINGS = ("flatten", "avg", "max", "attention")
IMAGES = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")


def _build(pooling, **kwargs):
    kwargs = {"input_shape": (32, 32, 3), "filters": (4, 8), "output_dim": 6, **kwargs}
    return branches.image_cnn(pooling=pooling, **kwargs)


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize(
    "pooling, pool_class, pooled_size",
    [
        ("flatten", keras.layers.Flatten, 8 * 8 * 8),  # two blocks: 32 -> 8, 8 filters
        ("avg", keras.layers.GlobalAveragePooling2D, 8),
        ("max", keras.layers.GlobalMaxPooling2D, 8),
        ("attention", SpatialAttentionPooling, 3 * 8),
    ],
)
def test_pooling_layer_and_shapes(pooling, pool_class, pooled_size):
    branch = _build(pooling, attention_heads=3)
    pool = branch.get_layer("pool")
    assert type(pool) is pool_class
    assert tuple(pool.output.shape) == (None, pooled_size)
    assert _numpy(branch(IMAGES)).shape == (2, 6)
    out = _build(pooling, return_sequence=True)(IMAGES)
    assert _numpy(out["feature"]).shape == (2, 6)
    assert _numpy(out["sequence"]).shape == (2, 64, 8)  # the map itself, whatever the pooling


def test_avg_and_max_pool_the_last_map():
    for pooling, reduce in (("avg", np.mean), ("max", np.max)):
        branch = _build(pooling)
        last_map = keras.Model(branch.inputs, branch.get_layer("block1_pool").output)(IMAGES)
        pooled = keras.Model(branch.inputs, branch.get_layer("pool").output)(IMAGES)
        np.testing.assert_allclose(
            _numpy(pooled), reduce(_numpy(last_map), axis=(1, 2)), rtol=1e-5, atol=1e-6
        )


def test_flatten_keeps_positions_in_row_order():
    branch = _build("flatten")
    last_map = keras.Model(branch.inputs, branch.get_layer("block1_pool").output)(IMAGES)
    pooled = keras.Model(branch.inputs, branch.get_layer("pool").output)(IMAGES)
    np.testing.assert_array_equal(_numpy(pooled), _numpy(last_map).reshape(2, -1))


@pytest.mark.parametrize("pooling", POOLINGS)
def test_config_round_trip(pooling):
    branch = _build(pooling)
    clone = keras.Model.from_config(branch.get_config())
    clone.set_weights(branch.get_weights())
    np.testing.assert_allclose(_numpy(clone(IMAGES)), _numpy(branch(IMAGES)), atol=1e-6)
    assert type(clone.get_layer("pool")) is type(branch.get_layer("pool"))


@pytest.mark.parametrize("pooling", POOLINGS)
def test_keras_file_round_trip_in_safe_mode(pooling, tmp_path):
    branch = _build(pooling, return_sequence=True)
    path = tmp_path / f"{pooling}.keras"
    branch.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    expected, got = branch(IMAGES), loaded(IMAGES)
    for key in expected:
        np.testing.assert_array_equal(_numpy(got[key]), _numpy(expected[key]))


def test_flatten_with_unknown_image_size_is_a_clear_error():
    with pytest.raises(
        ValueError, match=r"pooling='flatten' \(the default\) needs a known image height and width"
    ):
        branches.image_cnn(input_shape=(None, None, 3), pooling="flatten")
    with pytest.raises(ValueError, match=r"input_shape=\(32, None, 3\)"):
        branches.image_cnn(input_shape=(32, None, 3), pooling="flatten")


@pytest.mark.parametrize("pooling", ("attention", "avg", "max"))
def test_other_poolings_take_any_image_size(pooling):
    branch = branches.image_cnn(
        input_shape=(None, None, 3), filters=(4, 8), output_dim=6, pooling=pooling
    )
    if pooling == "attention":
        assert branch.get_layer("pool").positional is False  # no weights per position
    for size in ((32, 32), (24, 40)):
        assert _numpy(branch(np.zeros((2, *size, 3), "float32"))).shape == (2, 6)


def test_default_pooling_is_flatten():
    assert isinstance(
        branches.image_cnn(input_shape=(32, 32, 3)).get_layer("pool"), keras.layers.Flatten
    )
    attention = branches.image_cnn(input_shape=(32, 32, 3), pooling="attention").get_layer("pool")
    assert attention.positional and attention.num_heads == 4


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"pooling": "mean"}, "pooling='mean'"),
        ({"pooling": "attention", "attention_heads": 0}, "attention_heads=0"),
    ],
)
def test_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        branches.image_cnn(**kwargs)


def _where_data():
    """32x32 images with one bright 2x2 square: label 0 when it is in the top rows, 1 below.

    Every square sits away from the borders and on the same grid modulo 4 (two 2x2 max-pooling
    stages), so the last feature map of every image holds the same values, only moved: global
    pooling sees identical features for both classes, and only *where* tells them apart.
    """
    images, labels = [], []
    for row in (8, 12, 16, 20):
        for col in (8, 12, 16, 20):
            image = np.zeros((32, 32, 1), "float32")
            image[row : row + 2, col : col + 2] = 255.0
            images.append(image)
            labels.append(int(row >= 16))
    return np.stack(images), np.array(labels)


def _fit_where_task(pooling, images, labels, seed=0):
    keras.utils.set_random_seed(seed)
    branch = branches.image_cnn(
        input_shape=(32, 32, 1), filters=(4, 8), output_dim=8, dropout=0.0, pooling=pooling
    )
    model = keras.Sequential([branch, keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    repeats = 32
    model.fit(
        np.tile(images, (repeats, 1, 1, 1)),
        np.tile(labels, repeats),
        epochs=3,
        batch_size=16,
        verbose=0,
    )
    # Batch statistics of the balanced 16 images, not the moving averages: a hundred steps
    # leave BatchNormalization's moving averages far from this all-black data, and the question
    # here is what the weights learned.
    return _numpy(model(images, training=True))


def test_flatten_and_attention_learn_where_a_stroke_is_and_avg_cannot():
    images, labels = _where_data()
    for pooling in ("flatten", "attention"):
        probabilities = _fit_where_task(pooling, images, labels)
        assert (probabilities.argmax(-1) == labels).all(), pooling
    probabilities = _fit_where_task("avg", images, labels)
    # Identical pooled features: the same prediction for every image, whatever the label.
    assert np.ptp(probabilities[:, 1]) < 1e-4
