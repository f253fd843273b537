"""`image_backbone(..., weights="imagenet")`: the Keras cache, offline errors, downloads.

Nothing here downloads: the cached files are written by the tests (random weights in the layout
of the published `*_notop.h5` files), and every network entry point is replaced by a fake that
records its use.
"""

import hashlib
import os
import shutil
import socket
import threading
import urllib.error
import urllib.request
import warnings

import h5py
import keras
import numpy as np
import pytest
from image_data import image_run_config

from mmkeras import branches, downloads
from mmkeras.branches.image_backbone_branch import BACKBONES, IMAGENET_STD
from mmkeras.branches.imagenet_weights import IMAGENET_WEIGHTS, imagenet_weights_file
from mmkeras.errors import DownloadError

SHAPE = (32, 32, 3)
IMAGES = np.random.default_rng(0).uniform(0, 255, (2, *SHAPE)).astype("float32")
IMAGENET_MEAN = (0.485, 0.456, 0.406)


def write_legacy_h5(model, path):
    """Writes `model`'s weights as the published `*_notop.h5` files hold them.

    What `model.load_weights` reads from a `.h5` name: the file's `layer_names` attribute, and
    for each layer a group of that name whose `weight_names` attribute lists its datasets,
    trainable weights first. Layers are matched by their order among layers with weights.
    """
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [layer.name.encode("utf8") for layer in model.layers]
        f.attrs["backend"] = keras.backend.backend().encode("utf8")
        f.attrs["keras_version"] = keras.__version__.encode("utf8")
        for layer in model.layers:
            group = f.create_group(layer.name)
            weights = layer.trainable_weights + layer.non_trainable_weights
            names = [f"{variable.path}:0" for variable in weights]
            group.attrs["weight_names"] = [name.encode("utf8") for name in names]
            for name, variable in zip(names, weights, strict=True):
                group.create_dataset(name, data=keras.ops.convert_to_numpy(variable))


def md5(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def backbone_weights(branch):
    return [keras.ops.convert_to_numpy(w) for w in branch.get_layer("backbone").weights]


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty Keras cache; downloads allowed as far as the environment goes."""
    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    for name in downloads.OFFLINE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def network(monkeypatch):
    """Records every use of the network; each one fails (unless a test sets `connect`)."""

    class Network:
        calls = []
        timeouts = []
        connect = None  # a replacement for socket.create_connection
        urlretrieve = None  # a replacement for the transfer itself

    def refuse(name):
        def call(*args, **kwargs):
            Network.calls.append(name)
            raise OSError(101, f"Network is unreachable ({name} in a test)")

        return call

    def create_connection(address, timeout=None, *args, **kwargs):
        Network.calls.append("create_connection")
        Network.timeouts.append(timeout)
        if Network.connect is None:
            raise OSError(101, "Network is unreachable")
        return Network.connect(address, timeout)

    def urlretrieve(url, filename, *args, **kwargs):
        Network.calls.append("urlretrieve")
        if Network.urlretrieve is None:
            raise urllib.error.URLError("Network is unreachable")
        return Network.urlretrieve(url, filename)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(urllib.request, "urlopen", refuse("urlopen"))
    monkeypatch.setattr(urllib.request, "urlretrieve", urlretrieve)
    # `keras.utils.get_file` calls the name it imported from urllib.request.
    monkeypatch.setattr("keras.src.utils.file_utils.urlretrieve", urlretrieve)
    return Network


def cache(home, backbone, model, monkeypatch):
    """Puts `model`'s weights in the cache as `backbone`'s ImageNet file; returns its path.

    The file is not the published one, so the table's hash is set to this file's (a file
    without a published hash keeps None).
    """
    name, _, published = imagenet_weights_file(backbone, SHAPE)
    folder = home / "models"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    write_legacy_h5(model, path)
    if published is not None:
        entry = IMAGENET_WEIGHTS[backbone]
        monkeypatch.setitem(IMAGENET_WEIGHTS, backbone, (entry[0], entry[1], md5(path)))
    return path


# === The table ===
def test_the_table_names_a_file_for_every_backbone():
    assert sorted(IMAGENET_WEIGHTS) == sorted(BACKBONES)
    for backbone in BACKBONES:
        name, url, published = imagenet_weights_file(backbone, SHAPE)
        assert name.endswith(".h5") and "{" not in name, backbone
        assert url.startswith("https://storage.googleapis.com/") and url.endswith("/" + name)
        assert published is None or len(published) == 32, backbone


def test_mobilenetv2_uses_the_file_of_its_input_size_or_224():
    def name(shape):
        return imagenet_weights_file("mobilenetv2", shape)[0]

    assert name((160, 160, 3)).endswith("_1.0_160_no_top.h5")
    for other in [(32, 32, 3), (96, 128, 3), (None, None, 3), (200, 200, 3)]:
        assert name(other).endswith("_1.0_224_no_top.h5"), other


@pytest.mark.slow
@pytest.mark.parametrize(
    "backbone, shape",
    [(b, SHAPE) for b in sorted(BACKBONES)] + [("mobilenetv2", (96, 96, 3))],
)
def test_the_table_matches_what_keras_applications_downloads(backbone, shape, monkeypatch):
    # Keras builds the model, then asks get_file for its weights: record that request.
    requested = []

    class Requested(Exception):
        pass

    def get_file(fname=None, origin=None, file_hash=None, cache_subdir=None, **kwargs):
        requested.append((fname, origin, file_hash, cache_subdir))
        raise Requested

    monkeypatch.setattr("keras.src.utils.file_utils.get_file", get_file)
    constructor = getattr(keras.applications, BACKBONES[backbone][0])
    with pytest.raises(Requested), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MobileNet at other sizes than 224: Keras says so
        constructor(include_top=False, weights="imagenet", input_shape=shape)
    name, url, published = imagenet_weights_file(backbone, shape)
    assert requested == [(name, url, published, "models")]


# === A cached file ===
@pytest.mark.parametrize("backbone", ["mobilenetv3small", "mobilenetv2"])
def test_a_cached_file_is_loaded_without_the_network(backbone, keras_home, network, monkeypatch):
    source = branches.image_backbone(backbone, input_shape=SHAPE)
    cache(keras_home, backbone, source.get_layer("backbone"), monkeypatch)
    fresh = branches.image_backbone(backbone, input_shape=SHAPE)
    branch = branches.image_backbone(backbone, input_shape=SHAPE, weights="imagenet")
    assert network.calls == []
    expected = backbone_weights(source)
    assert not all(
        np.array_equal(a, b) for a, b in zip(backbone_weights(fresh), expected, strict=True)
    )
    for got, want in zip(backbone_weights(branch), expected, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("variable", downloads.OFFLINE_VARIABLES)
def test_offline_mode_uses_the_cache_and_never_the_network(
    variable, keras_home, network, monkeypatch
):
    monkeypatch.setenv(variable, "1")
    with pytest.raises(
        DownloadError, match=f"offline mode is on \\({variable}=1\\).*unset {variable}"
    ):
        branches.image_backbone("mobilenetv3small", input_shape=SHAPE, weights="imagenet")
    source = branches.image_backbone("mobilenetv3small", input_shape=SHAPE)
    cache(keras_home, "mobilenetv3small", source.get_layer("backbone"), monkeypatch)
    branch = branches.image_backbone("mobilenetv3small", input_shape=SHAPE, weights="imagenet")
    assert network.calls == []
    np.testing.assert_array_equal(backbone_weights(branch)[0], backbone_weights(source)[0])


# === Offline ===
def test_offline_without_a_cached_file_fails_at_once_naming_three_ways(keras_home, network):
    with pytest.raises(DownloadError) as info:
        branches.image_backbone("resnet50", input_shape=SHAPE, weights="imagenet")
    # One short connection check, and no download attempted.
    assert network.calls == ["create_connection"]
    assert network.timeouts == [downloads.CONNECT_TIMEOUT] and downloads.CONNECT_TIMEOUT <= 5
    message = str(info.value)
    name, url, _ = imagenet_weights_file("resnet50", SHAPE)
    folder = str(keras_home / "models")
    assert message.startswith("image_backbone: the ImageNet weights of backbone 'resnet50'")
    assert "cannot connect to storage.googleapis.com:443" in message
    assert f"The file expected is {name} in the cache folder {folder}" in message
    assert "(a) network access: let this machine reach storage.googleapis.com" in message
    assert f"(b) put the file {name} into {folder} yourself" in message and url in message
    assert f"(c) pass the path of a local copy: weights='/path/to/{name}'" in message
    assert not os.path.exists(folder) or os.listdir(folder) == []


def test_a_connection_check_that_hangs_gives_up_after_its_timeout(keras_home, network, monkeypatch):
    # A name lookup that never answers: the check waits CONNECT_TIMEOUT, not the resolver's time.
    released = threading.Event()

    def hang(address, timeout):
        released.wait()
        raise OSError("released at the end of the test")

    network.connect = hang
    monkeypatch.setattr(downloads, "CONNECT_TIMEOUT", 0.05)
    try:
        with pytest.raises(
            DownloadError, match="storage.googleapis.com:443 did not answer within 0.05 s"
        ):
            branches.image_backbone("mobilenetv3small", input_shape=SHAPE, weights="imagenet")
    finally:
        released.set()
    assert "urlretrieve" not in network.calls


@pytest.mark.parametrize("offline", [False, True])
def test_a_corrupt_cached_file_is_named(offline, keras_home, network, monkeypatch):
    if offline:
        monkeypatch.setenv("MMKERAS_OFFLINE", "1")
    name, _, _ = imagenet_weights_file("mobilenetv3small", SHAPE)
    path = keras_home / "models" / name
    path.parent.mkdir(parents=True)
    path.write_bytes(b"half a file")
    message = f"{name} in the cache folder {path.parent} .*The copy there does not match its "
    with pytest.raises(DownloadError, match=message + "published md5 hash"):
        branches.image_backbone("mobilenetv3small", input_shape=SHAPE, weights="imagenet")
    assert "urlretrieve" not in network.calls
    assert path.read_bytes() == b"half a file"


# === Downloads (faked transfers) ===
@pytest.fixture
def online(network):
    """The connection check succeeds; `network.urlretrieve` decides what a transfer delivers."""

    class Connection:
        def close(self):
            pass

    network.connect = lambda address, timeout: Connection()
    return network


def test_a_download_lands_in_the_cache_once_and_is_reused(
    tmp_path, keras_home, online, monkeypatch
):
    source = branches.image_backbone("mobilenetv3small", input_shape=SHAPE)
    published = cache(
        tmp_path / "published", "mobilenetv3small", source.get_layer("backbone"), monkeypatch
    )
    online.urlretrieve = lambda url, filename: shutil.copyfile(published, filename)
    branch = branches.image_backbone("mobilenetv3small", input_shape=SHAPE, weights="imagenet")
    assert online.calls == ["create_connection", "urlretrieve"]
    assert os.listdir(keras_home / "models") == [published.name]
    np.testing.assert_array_equal(backbone_weights(branch)[-1], backbone_weights(source)[-1])

    branches.image_backbone("mobilenetv3small", input_shape=SHAPE, weights="imagenet")
    assert online.calls == ["create_connection", "urlretrieve"]  # from the cache, no network


def test_a_corrupt_cached_file_is_downloaded_again(tmp_path, keras_home, online, monkeypatch):
    source = branches.image_backbone("mobilenetv3small", input_shape=SHAPE)
    published = cache(
        tmp_path / "published", "mobilenetv3small", source.get_layer("backbone"), monkeypatch
    )
    stale = keras_home / "models" / published.name
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half a file")
    online.urlretrieve = lambda url, filename: shutil.copyfile(published, filename)
    with pytest.warns(UserWarning, match=f"cached file {stale} does not match .* downloading it"):
        branches.image_backbone("mobilenetv3small", input_shape=SHAPE, weights="imagenet")
    assert online.calls == ["create_connection", "urlretrieve"]
    assert stale.read_bytes() == published.read_bytes()


def _corrupt(url, filename):
    with open(filename, "wb") as f:
        f.write(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)


def _interrupted(url, filename):
    with open(filename, "wb") as f:
        f.write(b"\x89HDF\r\n")
    raise urllib.error.ContentTooShortError(
        "retrieval incomplete: got only 6 out of 100 bytes", None
    )


@pytest.mark.parametrize(
    "backbone, transfer, match",
    [
        ("mobilenetv3small", _corrupt, "md5 hash [0-9a-f]{32} does not match the published"),
        ("mobilenetv3small", _interrupted, "retrieval incomplete"),
        ("mobilenetv2", lambda url, f: open(f, "wb").close(), "not an HDF5 file"),
    ],
)
def test_a_failed_download_says_why_and_leaves_no_file(
    backbone, transfer, match, keras_home, online
):
    online.urlretrieve = transfer
    with pytest.raises(DownloadError, match=match) as info:
        branches.image_backbone(backbone, input_shape=SHAPE, weights="imagenet")
    assert online.calls == ["create_connection", "urlretrieve"]
    assert os.listdir(keras_home / "models") == []
    name, url, _ = imagenet_weights_file(backbone, SHAPE)
    assert f"download of {url} failed" in str(info.value)
    assert "Nothing was kept in" in str(info.value) and f"weights='/path/to/{name}'" in str(
        info.value
    )


# === EfficientNet's normalisation ===
def _efficientnet_with_imagenet_statistics():
    source = branches.image_backbone("efficientnetb0", input_shape=SHAPE)
    network = source.get_layer("backbone")
    norm = next(layer for layer in network.layers if isinstance(layer, keras.layers.Normalization))
    # The published file stores the standard deviation where a variance belongs.
    norm.adapt_mean.assign(np.reshape(IMAGENET_MEAN, norm.adapt_mean.shape))
    norm.adapt_variance.assign(np.reshape(IMAGENET_STD, norm.adapt_variance.shape))
    return network


def _stem(model, images, before=None):
    """The output of `model`'s first convolution for `images` (after the layer `before`)."""
    probe = keras.Model(model.input, model.get_layer("stem_conv").output)
    if before is not None:
        images = before(images)
    return keras.ops.convert_to_numpy(probe(images))


@pytest.mark.slow
def test_efficientnet_imagenet_matches_the_model_keras_downloads(keras_home, network, monkeypatch):
    path = cache(
        keras_home, "efficientnetb0", _efficientnet_with_imagenet_statistics(), monkeypatch
    )
    branch = branches.image_backbone("efficientnetb0", input_shape=SHAPE, weights="imagenet")
    assert network.calls == []
    # Keras's own ImageNet model, given the same file where it would download it.
    monkeypatch.setattr("keras.src.utils.file_utils.get_file", lambda *a, **k: str(path))
    reference = keras.applications.EfficientNetB0(
        include_top=False, weights="imagenet", input_shape=SHAPE
    )
    expected = _stem(reference, IMAGES)
    correction = branch.get_layer("imagenet_std_correction")
    got = _stem(branch.get_layer("backbone"), IMAGES, before=correction)
    scale = np.abs(expected).max()
    assert scale > 1.0
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * scale)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(branch(IMAGES)),
        keras.ops.convert_to_numpy(keras.layers.GlobalAveragePooling2D()(reference(IMAGES))),
        rtol=1e-3,
        atol=1e-9,
    )
    # Without Keras's compensation the first layers see other values: the comparison can tell.
    uncorrected = keras.applications.EfficientNetB0(
        include_top=False, weights=str(path), input_shape=SHAPE
    )
    assert np.abs(_stem(uncorrected, IMAGES) - expected).max() > 0.1 * scale


@pytest.mark.slow
def test_efficientnet_statistics_of_other_data_are_not_corrected(tmp_path):
    network = _efficientnet_with_imagenet_statistics()
    norm = next(layer for layer in network.layers if isinstance(layer, keras.layers.Normalization))
    norm.adapt_variance.assign(np.reshape([0.05, 0.06, 0.07], norm.adapt_variance.shape))
    path = tmp_path / "adapted.weights.h5"
    network.save_weights(path)
    branch = branches.image_backbone("efficientnetb0", input_shape=SHAPE, weights=str(path))
    assert "imagenet_std_correction" not in [layer.name for layer in branch.layers]


def test_arguments_are_checked_before_any_download(keras_home, network):
    with pytest.raises(ValueError, match="output_dim=0"):
        branches.image_backbone("resnet50", input_shape=SHAPE, weights="imagenet", output_dim=0)
    assert network.calls == []


# === The YAML config ===
@pytest.mark.parametrize("value", ["imagenet", "ImageNet"])
def test_a_config_passes_imagenet_through_as_a_name_not_a_path(value, tmp_path):
    import mmkeras.config as C
    from mmkeras.train.builders import build_pipeline, resolve_config

    data = image_run_config(tmp_path, "imagenet", 4)
    data["data"]["image"]["size"] = [32, 32]
    data["data"]["errors"] = "skip"
    data["model"]["branches"]["image"] = {
        "kind": "image_backbone",
        "backbone": "resnet50",
        "weights": value,
    }
    config = C.from_dict(data, base_dir=str(tmp_path))
    pipe = build_pipeline(config)
    pipe.adapt(str(tmp_path / "train.csv"))
    resolved = resolve_config(config, pipe).model.branches["image"].builder_kwargs()
    assert resolved["weights"] == value
    assert resolved["input_shape"] == [32, 32, 3]


def test_the_finetune_example_uses_imagenet_weights():
    import mmkeras.config as C

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    config = C.load(os.path.join(root, "examples", "configs", "finetune_stages.yaml"))
    assert config.model.branches["image"].builder_kwargs()["weights"] == "imagenet"
