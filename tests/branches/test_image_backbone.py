import keras
import numpy as np
import pytest

from mmkeras import branches
from mmkeras.branches.image_backbone_branch import BACKBONES

IMAGES = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")


@pytest.mark.slow
@pytest.mark.parametrize("backbone", sorted(BACKBONES))
def test_every_backbone_builds_on_small_images(backbone):
    branch = branches.image_backbone(backbone, input_shape=(32, 32, 3), output_dim=4)
    out = keras.ops.convert_to_numpy(branch(IMAGES))
    assert out.shape == (2, 4) and np.isfinite(out).all()


@pytest.mark.slow
@pytest.mark.parametrize(
    "backbone, suffix", [("resnet50", ".weights.h5"), ("mobilenetv3small", ".h5")]
)
def test_weights_load_from_a_local_file(backbone, suffix, tmp_path):
    source = branches.image_backbone(backbone, input_shape=(32, 32, 3))
    network = source.get_layer("backbone")
    path = str(tmp_path / f"{backbone}{suffix}")
    if suffix == ".weights.h5":
        network.save_weights(path)
    else:
        # The layout of the `*_notop.h5` files Keras publishes.
        import h5py
        from keras.src.legacy.saving import legacy_h5_format

        with h5py.File(path, "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, network)
    fresh = branches.image_backbone(backbone, input_shape=(32, 32, 3))
    loaded = branches.image_backbone(backbone, input_shape=(32, 32, 3), weights=path)
    expected = keras.ops.convert_to_numpy(source(IMAGES))
    assert not np.allclose(keras.ops.convert_to_numpy(fresh(IMAGES)), expected, atol=0)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(IMAGES)), expected, rtol=1e-5, atol=0
    )


@pytest.mark.slow
def test_efficientnet_imagenet_statistics_give_the_reference_normalisation(tmp_path):
    source = branches.image_backbone("efficientnetb0", input_shape=(32, 32, 3))
    network = source.get_layer("backbone")
    norm = next(layer for layer in network.layers if isinstance(layer, keras.layers.Normalization))
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    # Keras's ImageNet file stores the standard deviation in the variance slot.
    norm.adapt_mean.assign(mean.reshape(norm.adapt_mean.shape))
    norm.adapt_variance.assign(std.reshape(norm.adapt_variance.shape))
    path = str(tmp_path / "efficientnetb0.weights.h5")
    network.save_weights(path)

    branch = branches.image_backbone("efficientnetb0", input_shape=(32, 32, 3), weights=path)
    loaded = branch.get_layer("backbone")
    loaded_norm = next(
        layer for layer in loaded.layers if isinstance(layer, keras.layers.Normalization)
    )
    probe = keras.Model(loaded.inputs, loaded_norm.output)
    corrected = branch.get_layer("imagenet_std_correction")(IMAGES)
    got = keras.ops.convert_to_numpy(probe(corrected))
    np.testing.assert_allclose(got, (IMAGES / 255.0 - mean) / std, atol=1e-4)


@pytest.mark.slow
def test_resnet50_applies_caffe_preprocessing_and_loads_in_safe_mode(tmp_path):
    branch = branches.image_backbone("resnet50", input_shape=(32, 32, 3), output_dim=3)
    assert isinstance(branch.get_layer("caffe_preprocessing"), keras.layers.Layer)
    path = tmp_path / "resnet.keras"
    branch.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded(IMAGES)), keras.ops.convert_to_numpy(branch(IMAGES))
    )


def test_trainable_false_freezes_the_backbone_only():
    frozen = branches.image_backbone("mobilenetv3small", input_shape=(32, 32, 3), output_dim=4)
    assert frozen.get_layer("backbone").trainable_weights == []
    assert len(frozen.trainable_weights) == 2  # the projection's kernel and bias
    before = [w.numpy() for w in frozen.get_layer("backbone").weights]
    frozen.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    frozen.train_on_batch(IMAGES, np.ones((2, 4), "float32"))
    after = [w.numpy() for w in frozen.get_layer("backbone").weights]
    for old, new in zip(before, after, strict=True):
        np.testing.assert_array_equal(old, new)

    free = branches.image_backbone("mobilenetv3small", input_shape=(32, 32, 3), trainable=True)
    assert len(free.get_layer("backbone").trainable_weights) > 0


def test_output_dim_none_returns_backbone_channels():
    branch = branches.image_backbone("mobilenetv3small", input_shape=(32, 32, 3))
    assert branch.output.shape == (None, 576)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"backbone": "vgg99"},
            "backbone='vgg99'.*'resnet50'.*'efficientnetb0'.*'mobilenetv3small'",
        ),
        (
            {"weights": "imagnet"},
            "not found: weights='imagnet'. Did you mean 'imagenet'.*None.*'imagenet'.*local",
        ),
        ({"weights": 3}, "unknown weights=3. Allowed values: None.*'imagenet'.*local"),
        ({"weights": "/no/such/file.h5"}, "not found: weights='/no/such/file.h5'. Allowed"),
        ({"input_shape": (16, 16, 3)}, ">= 32"),
        ({"output_dim": 0}, "output_dim=0"),
        ({"pooling": "attention"}, "pooling='attention'"),
        ({"trainable": "yes"}, "trainable='yes'"),
    ],
)
def test_clear_errors(kwargs, match):
    kwargs = {"backbone": "resnet50", "input_shape": (32, 32, 3), **kwargs}
    with pytest.raises(ValueError, match=match):
        branches.image_backbone(**kwargs)
