"""The ImageNet weights of the `image_backbone` backbones, as `keras.applications` publishes them.

`image_backbone(..., weights="imagenet")` finds the backbone's no-top weights file in the Keras
cache (`$KERAS_HOME/models`, by default `~/.keras/models`), the folder where
`keras.applications` keeps the same files, or downloads it there once when the network is
reachable. Offline it fails at once, naming the file, the folder and the other ways to supply it.
"""

import os
import urllib.parse
import warnings

from mmkeras.downloads import (
    download_file,
    keras_cache_folder,
    md5_of,
    offline_variables,
    unreachable_reason,
)
from mmkeras.errors import DownloadError

_KERAS_APPLICATIONS = "https://storage.googleapis.com/tensorflow/keras-applications/"
_EFFICIENTNET = "https://storage.googleapis.com/keras-applications/"

# backbone -> (no-top weights file name, URL of its folder, md5 hash), the facts of
# `keras.applications` with alpha 1.0. MobileNetV2 has one file per training size, and no hash.
IMAGENET_WEIGHTS = {
    "resnet50": (
        "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        _KERAS_APPLICATIONS + "resnet/",
        "4d473c1dd8becc155b73f8504c6f6626",
    ),
    "resnet101": (
        "resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5",
        _KERAS_APPLICATIONS + "resnet/",
        "88cf7a10940856eca736dc7b7e228a21",
    ),
    "efficientnetb0": (
        "efficientnetb0_notop.h5",
        _EFFICIENTNET,
        "50bc09e76180e00e4465e1a485ddc09d",
    ),
    "efficientnetb1": (
        "efficientnetb1_notop.h5",
        _EFFICIENTNET,
        "74c4e6b3e1f6a1eea24c589628592432",
    ),
    "mobilenetv2": (
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{size}_no_top.h5",
        _KERAS_APPLICATIONS + "mobilenet_v2/",
        None,
    ),
    "mobilenetv3small": (
        "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5",
        _KERAS_APPLICATIONS + "mobilenet_v3/",
        "d3e8ec802a04aa4fc771ee12a9a9b836",
    ),
    "mobilenetv3large": (
        "weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5",
        _KERAS_APPLICATIONS + "mobilenet_v3/",
        "07fb09a5933dd0c8eaafa16978110389",
    ),
}
# The square input sizes MobileNetV2 was trained at; any other input uses the 224 file, as
# `keras.applications.MobileNetV2` does.
MOBILENETV2_SIZES = (96, 128, 160, 192, 224)


def imagenet_weights_file(backbone, input_shape):
    """The no-top ImageNet weights file of `backbone` for images of `input_shape`.

    Args:
        backbone: a key of `IMAGENET_WEIGHTS`.
        input_shape: `(height, width, 3)`; only MobileNetV2's file depends on it.

    Returns:
        `(file_name, url, md5)`, `md5` None where none is published.
    """
    name, folder_url, md5 = IMAGENET_WEIGHTS[backbone]
    height, width = input_shape[:2]
    size = height if height == width and height in MOBILENETV2_SIZES else 224
    name = name.format(size=size)
    return name, folder_url + name, md5


def _not_hdf5(path):
    import h5py

    return None if h5py.is_hdf5(path) else "the file received is not an HDF5 file"


def _unavailable_message(where, backbone, file_name, url, folder, reason, offline, stale):
    host = urllib.parse.urlsplit(url).hostname
    network = f"let this machine reach {host}"
    if offline:
        unset = " and ".join(variable.split("=")[0] for variable in offline)
        network = f"unset {unset} and {network}"
    cached = (
        "The copy there does not match its published md5 hash (an interrupted or corrupted "
        "download): delete it. "
        if stale
        else ""
    )
    return (
        f"{where}: the ImageNet weights of backbone {backbone!r} have no usable copy in the Keras "
        f"cache and cannot be downloaded: {reason}. The file expected is {file_name} in the cache folder "
        f"{folder} ($KERAS_HOME/models, by default ~/.keras/models). {cached}"
        "Supply the weights in one of three ways: "
        f"(a) network access: {network}, and the file is downloaded once into that folder; "
        f"(b) put the file {file_name} into {folder} yourself: download it on a machine with "
        f"network access (`curl -O {url}`) and copy it there; "
        f"(c) pass the path of a local copy: weights='/path/to/{file_name}' "
        f"(in a YAML config, `weights: /path/to/{file_name}`)."
    )


def imagenet_weights_path(backbone, input_shape, where="image_backbone"):
    """The local path of `backbone`'s no-top ImageNet weights, downloading them if needed.

    A file already in the Keras cache that matches its published hash is used without any
    network access. Otherwise, unless `MMKERAS_OFFLINE` or `HF_HUB_OFFLINE` is set, a short
    connection check runs first and the file is downloaded into the cache (temporary name,
    checked, then renamed).

    Args:
        backbone: a key of `IMAGENET_WEIGHTS`.
        input_shape: `(height, width, 3)`, which picks MobileNetV2's file.
        where: str, the caller named in errors.

    Returns:
        str, the path of the weights file in the Keras cache.

    Raises:
        DownloadError: the file is not cached and cannot be downloaded (offline), or the
            download failed; the message names the file, the cache folder and the three ways
            to supply the weights.
    """
    file_name, url, md5 = imagenet_weights_file(backbone, input_shape)
    folder = keras_cache_folder("models")
    path = os.path.join(folder, file_name)
    stale = False
    if os.path.isfile(path):
        if md5 is None or md5_of(path) == md5:
            return path
        stale = True
    offline = offline_variables()
    if offline:
        reason = f"offline mode is on ({', '.join(offline)})"
    else:
        reason = unreachable_reason(url)
    if reason is not None:
        raise DownloadError(
            _unavailable_message(where, backbone, file_name, url, folder, reason, offline, stale)
        )
    if stale:
        warnings.warn(
            f"{where}: the cached file {path} does not match its published md5 hash {md5}; "
            "downloading it again.",
            stacklevel=3,
        )
    try:
        return download_file(url, path, md5=md5, validate=None if md5 else _not_hdf5)
    except DownloadError as error:
        raise DownloadError(
            f"{where}: the ImageNet weights of backbone {backbone!r}: {error} Other ways to "
            f"supply them: put {file_name} into {folder} yourself, or pass the path of a local "
            f"copy, weights='/path/to/{file_name}'."
        ) from error
