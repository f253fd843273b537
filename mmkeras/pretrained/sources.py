"""Where a pretrained checkpoint comes from: a preset name, `hf://`, `kaggle://` or a local folder.

`resolve_source` turns what a user wrote into a `PretrainedSource`: a local folder whenever the
files can be had locally (a folder given by path, or a Hugging Face snapshot in the Hugging Face
cache), or a keras-hub preset handle that keras-hub downloads into its own cache. Nothing is
downloaded unless the user named a remote checkpoint, and then only into the libraries' own
caches. Offline (`HF_HUB_OFFLINE=1`, `MMKERAS_OFFLINE=1`, or no route to the host), a checkpoint
missing from the cache fails at once with a message naming the ways to supply it.
"""

import dataclasses
import os

from mmkeras.downloads import check_reachable
from mmkeras.json_values import json_object

HF_PREFIX = "hf://"
KAGGLE_PREFIX = "kaggle://"
CONFIG_FILE = "config.json"

# The files of a Hugging Face repository that a pretrained branch or its tokenizer reads.
HF_FILES = (
    "config.json",
    "*.safetensors",
    "model.safetensors.index.json",
    "preprocessor_config.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "tokenizer.json",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
    "*.model",
)


@dataclasses.dataclass(frozen=True)
class PretrainedSource:
    """A resolved checkpoint.

    Attributes:
        source: what the user wrote (a preset name, `hf://org/name`, `kaggle://...`, a folder).
        location: what the loaders read: a local folder, or a keras-hub preset handle.
        format: `"transformers"` (a Hugging Face checkpoint: `config.json` with `model_type`) or
            `"keras_hub"` (a keras-hub preset: `config.json` of a serialized backbone).
        config: the parsed `config.json` (None for a keras-hub preset not yet downloaded).
    """

    source: str
    location: str
    format: str
    config: dict | None

    @property
    def is_local(self):
        return os.path.isdir(self.location)

    @property
    def model_type(self):
        """The Hugging Face `model_type` (None for a keras-hub preset)."""
        return (self.config or {}).get("model_type")

    @property
    def backbone_class(self):
        """The keras-hub backbone class name of a preset (e.g. `"ViTBackbone"`), else None."""
        if self.format != "keras_hub":
            return None
        if self.config is None:
            return _keras_hub_class_of(self.location)
        return (
            self.config.get("class_name") or self.config.get("registered_name", "").split(">")[-1]
        )

    def file(self, name):
        """The local path of one file of a local checkpoint, or None if it has no such file."""
        if not self.is_local:
            return None
        path = os.path.join(self.location, name)
        return path if os.path.isfile(path) else None


def _read_config(folder, source):
    path = os.path.join(folder, CONFIG_FILE)
    if not os.path.isfile(path):
        raise ValueError(
            f"pretrained source {source!r}: the folder {folder!r} has no {CONFIG_FILE}. A local "
            "checkpoint is a Hugging Face model folder (config.json with a `model_type`, "
            "model.safetensors) or a keras-hub preset folder (saved with `save_to_preset`)."
        )
    with open(path, encoding="utf-8") as f:
        return json_object(f.read(), f"pretrained source {source!r}: {path}")


def _local(folder, source):
    config = _read_config(folder, source)
    if "registered_name" in config or "class_name" in config:
        return PretrainedSource(source, folder, "keras_hub", config)
    if "model_type" in config:
        return PretrainedSource(source, folder, "transformers", config)
    raise ValueError(
        f"pretrained source {source!r}: {folder}/{CONFIG_FILE} has neither a `model_type` (a "
        "Hugging Face checkpoint) nor a `registered_name` (a keras-hub preset)."
    )


def _hugging_face(source):
    repo = source[len(HF_PREFIX) :].strip("/")
    if repo.count("/") > 1 or not repo:
        raise ValueError(
            f"pretrained source {source!r}: a Hugging Face id reads 'hf://org/name' (or "
            "'hf://name'); received {source!r}."
        )
    try:
        import huggingface_hub
        from huggingface_hub import constants as hf_constants
    except ImportError as error:  # keras-hub depends on it, so this is a broken install
        raise ImportError(
            f"pretrained source {source!r} needs the `huggingface_hub` package: "
            "`pip install huggingface_hub`."
        ) from error
    cache = hf_constants.HF_HUB_CACHE
    try:
        folder = huggingface_hub.snapshot_download(
            repo, allow_patterns=list(HF_FILES), local_files_only=True
        )
        if os.path.isfile(os.path.join(folder, CONFIG_FILE)):
            return _local(folder, source)
    except Exception:  # not (completely) in the cache: download below
        pass
    check_reachable(
        "https://huggingface.co",
        what=f"the Hugging Face checkpoint {source!r}",
        ways=(
            "network access to huggingface.co (a proxy through HTTPS_PROXY works)",
            f"the checkpoint in the Hugging Face cache {cache} (run "
            f"`huggingface-cli download {repo}` on a machine online and copy the cache, or set "
            "HF_HOME to a copied cache)",
            "a local folder with the checkpoint's files: "
            f"mk.branches.pretrained('/path/to/{repo.split('/')[-1]}')",
        ),
    )
    try:
        folder = huggingface_hub.snapshot_download(repo, allow_patterns=list(HF_FILES))
    except huggingface_hub.errors.RepositoryNotFoundError as error:
        raise ValueError(
            f"pretrained source {source!r}: no such repository on the Hugging Face Hub, or it "
            "is private (log in with `huggingface-cli login`)."
        ) from error
    return _local(folder, source)


def _keras_hub_class_of(handle):
    from keras_hub.src.utils.preset_utils import load_json

    return load_json(handle).get("class_name")


def _keras_hub(source):
    import keras_hub

    presets = keras_hub.models.Backbone.presets
    handle = source
    if not source.startswith(KAGGLE_PREFIX):
        if source not in presets:
            import difflib

            close = difflib.get_close_matches(source, list(presets), n=5)
            raise ValueError(
                f"pretrained source {source!r}: not a folder, not 'hf://...' or 'kaggle://...', "
                f"and not a keras-hub preset name. Close preset names: {close or 'none'}; every "
                "name: `keras_hub.models.Backbone.presets`."
            )
        handle = presets[source]["kaggle_handle"]
    if not _in_kagglehub_cache(handle):  # a cached preset loads offline
        check_reachable(
            "https://www.kaggle.com",
            what=f"the keras-hub preset {source!r}",
            ways=(
                "network access to kaggle.com",
                f"the preset in the kagglehub cache {_kagglehub_cache()} (load it once on a "
                "machine online and copy the cache, or set KAGGLEHUB_CACHE to a copied cache)",
                "a local preset folder (`backbone.save_to_preset(folder)` on a machine online): "
                "mk.branches.pretrained('/path/to/folder')",
            ),
        )
    return PretrainedSource(source, source, "keras_hub", None)


def _kagglehub_cache():
    return os.environ.get(
        "KAGGLEHUB_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "kagglehub")
    )


def _in_kagglehub_cache(handle):
    # kagglehub keeps `models/<owner>/<model>/<framework>/<variation>/<version>/`.
    parts = handle[len(KAGGLE_PREFIX) :].strip("/").split("/")
    folder = os.path.join(_kagglehub_cache(), "models", *parts[:4])
    if len(parts) > 4:
        folder = os.path.join(folder, parts[4])
    if not os.path.isdir(folder):
        return False
    for root, _, files in os.walk(folder):
        if CONFIG_FILE in files and os.path.isfile(os.path.join(root, CONFIG_FILE)):
            return True
    return False


def resolve_source(source):
    """Resolves what a user wrote for a pretrained checkpoint.

    Args:
        source: a local folder (a Hugging Face checkpoint or a keras-hub preset folder), a
            Hugging Face id `"hf://org/name"`, a Kaggle handle `"kaggle://..."`, or a keras-hub
            preset name such as `"dinov2_small"`.

    Returns:
        A `PretrainedSource`.

    Raises:
        ValueError: for a source that is none of these, a folder without `config.json`, or a
            remote checkpoint that is neither cached nor reachable (the message names the
            ways to supply it).

    Example:
    >>> resolve_source("no/such/folder")
    Traceback (most recent call last):
    ...
    ValueError: pretrained source 'no/such/folder': not a folder, not 'hf://...' or 'kaggle://...', and not a keras-hub preset name. Close preset names: none; every name: `keras_hub.models.Backbone.presets`.
    """
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str) or not source.strip():
        raise ValueError(
            "pretrained: `source` must be a keras-hub preset name, 'hf://org/name', "
            f"'kaggle://...' or the path of a local folder; received source={source!r}."
        )
    if source.startswith(HF_PREFIX):
        return _hugging_face(source)
    if os.path.isdir(source):
        return _local(os.path.abspath(source), source)
    return _keras_hub(source)


__all__ = ["PretrainedSource", "resolve_source"]
