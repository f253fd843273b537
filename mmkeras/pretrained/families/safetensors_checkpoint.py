"""`SafetensorsCheckpoint`: the tensors of a local Hugging Face checkpoint's safetensors files."""

import contextlib
import json


class SafetensorsCheckpoint:
    """Reads named tensors of one `model.safetensors`, or of the shards that
    `model.safetensors.index.json` lists, as numpy arrays.

    Use it as a context manager: the files stay open until it exits. Names are looked up below
    `prefix` (`"encoder."`, say; empty by default), which a subclass may set on entering once it
    has seen the checkpoint's names (`names()`).

    Args:
        source: the pretrained source, whose `file(name)` gives a local path or None.
    """

    prefix = ""

    def __init__(self, source):
        self.source = source
        self._stack = contextlib.ExitStack()
        self._where = {}

    def __enter__(self):
        from safetensors import safe_open

        if self.source.file("model.safetensors") is not None:
            shards = ["model.safetensors"]
        elif (index := self.source.file("model.safetensors.index.json")) is not None:
            with open(index, encoding="utf-8") as f:
                shards = sorted(set(json.load(f)["weight_map"].values()))
        else:
            raise ValueError(
                f"pretrained source {self.source.source!r}: the checkpoint has no "
                f"model.safetensors (looked in {self.source.location}); mmkeras reads "
                "safetensors weights only: save it with "
                "`model.save_pretrained(folder, safe_serialization=True)`."
            )
        with self._stack:
            for shard in shards:
                path = self.source.file(shard)
                if path is None:
                    raise ValueError(
                        f"pretrained source {self.source.source!r}: the shard {shard} listed "
                        f"in model.safetensors.index.json is missing (looked in "
                        f"{self.source.location})."
                    )
                handle = self._stack.enter_context(safe_open(path, framework="np"))
                for key in handle.keys():
                    self._where[key] = handle
            self.found(self._where)
            self._stack = self._stack.pop_all()  # the files stay open until __exit__
        return self

    def __exit__(self, *exc_info):
        self._stack.close()
        self._where.clear()

    def names(self):
        """Every tensor name of the checkpoint (prefix included)."""
        return set(self._where)

    def found(self, names):
        """Called on entering with every tensor name of the checkpoint; sets `prefix`."""

    def missing(self, key):
        """The error message for a tensor `key` (prefix included) the checkpoint lacks."""
        return f"pretrained source {self.source.source!r}: the checkpoint has no tensor {key!r}."

    def __contains__(self, name):
        return self.prefix + name in self._where

    def __getitem__(self, name):
        key = self.prefix + name
        if key not in self._where:
            raise ValueError(self.missing(key))
        return self._where[key].get_tensor(key)
