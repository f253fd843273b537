"""`ServedModel`: an export directory loaded for serving: its signatures, specs and errors."""

import os
import re
import threading

from mmkeras.serve.rest_json import InputSpec
from mmkeras.serve.serving_error import ServingError

_NOISE = (
    re.compile(r"\s*\[\[\{\{node [^}]*\}\}\]\]"),
    re.compile(r"\s*\[Op:[^\]]*\]"),
    re.compile(r"\s*\(defined at [^)]*\)"),
)
_NODE = re.compile(r"Detected at node (\S+)")
# Ops whose errors say nothing of the input they read: the node tells the modality.
_DECODER_MODALITY = (("decode_image", "image"), ("decodeimage", "image"), ("decodewav", "audio"))
_DECODER_MODALITY += (("decode_wav", "audio"), ("decodejpeg", "image"), ("decodepng", "image"))


def _reason(error):
    message = getattr(error, "message", None) or str(error)
    for line in message.splitlines():
        line = line.strip()
        if line.startswith("assertion failed:"):
            # `tf.debugging.Assert` prints each datum in brackets: join them back into a sentence.
            line = line[len("assertion failed:") :].strip()
            line = _NOISE[0].sub("", line)
            return line.replace("] [", " ").strip("[] ").replace(" ;", ";")
    skip = ("Graph execution error", "Detected at node", "<stack traces", "[[{{node")
    for line in message.splitlines():
        line = line.strip()
        if line and not line.startswith(skip):
            for pattern in _NOISE:
                line = pattern.sub("", line)
            return line.strip()
    return message.strip()


class ServedModel:
    """A SavedModel export, loaded once, whose signatures the server calls.

    Reads the signature definitions from `saved_model.pb` (for the metadata TF Serving answers)
    and the export's `metadata.json` (modalities of the inputs, labels) when present. Calls are
    thread-safe: the server runs them in a thread pool.

    Args:
        export_dir: directory with `saved_model.pb` (written by `mmkeras.export.saved_model`).

    Example:
    >>> served = ServedModel("exported/")
    >>> raw = {"image": np.array([open("cat.jpg", "rb").read()], object),  # file bytes
    ...        "text": np.array([b"a cat"], object),
    ...        "audio": np.array([open("cat.wav", "rb").read()], object)}
    >>> served.run("serving_default", raw)["label"]
    array([b'...'], dtype=object)
    """

    def __init__(self, export_dir):
        self.export_dir = os.path.abspath(os.fspath(export_dir))
        if not os.path.isfile(os.path.join(self.export_dir, "saved_model.pb")):
            raise FileNotFoundError(
                f"{export_dir} holds no SavedModel (no saved_model.pb); serve a directory "
                "written by `mmkeras export` or `mmkeras.export.saved_model`."
            )
        from mmkeras.export.metadata import METADATA_FILE, read_metadata

        self.metadata = None
        if os.path.isfile(os.path.join(self.export_dir, METADATA_FILE)):
            self.metadata = read_metadata(self.export_dir)
        import tensorflow as tf

        try:
            import tensorflow_text  # noqa: F401 - registers the text ops of the graph
        except ImportError:
            pass
        self._tf = tf
        self.signature_defs = self._read_signature_defs()
        self._loaded = tf.saved_model.load(self.export_dir)
        modalities = self._modalities()
        self.signatures = {}
        self.output_names = {}
        self._functions = {}
        for name, fn in self._loaded.signatures.items():
            if name.startswith("__"):
                continue
            specs = fn.structured_input_signature[1]
            order = {key: i for i, key in enumerate(modalities)}  # the export's schema order
            specs = dict(sorted(specs.items(), key=lambda item: (order.get(item[0], 1e9), item[0])))
            self.signatures[name] = {
                key: InputSpec(
                    key,
                    object if spec.dtype == tf.string else spec.dtype.as_numpy_dtype,
                    tuple(spec.shape.as_list()[1:]) if spec.shape.rank else (),
                    modalities.get(key),
                )
                for key, spec in specs.items()
            }
            self.output_names[name] = list(fn.structured_outputs)
            self._functions[name] = fn
        self._lock = threading.Lock()
        self.calls = 0
        self.elements = 0

    def _read_signature_defs(self):
        from google.protobuf import json_format
        from tensorflow.core.protobuf import saved_model_pb2

        proto = saved_model_pb2.SavedModel()
        with open(os.path.join(self.export_dir, "saved_model.pb"), "rb") as f:
            proto.ParseFromString(f.read())
        defs = proto.meta_graphs[0].signature_def
        return {
            name: json_format.MessageToDict(defs[name], preserving_proto_field_name=True)
            for name in sorted(defs)
            if not name.startswith("__")
        }

    def _modalities(self):
        if not self.metadata:
            return {}
        inputs = self.metadata.get("signatures", {}).get("serving_default", {}).get("inputs", {})
        return {name: entry.get("modality") for name, entry in inputs.items()}

    @property
    def allow_missing(self):
        return bool(self.metadata and self.metadata.get("allow_missing"))

    def run(self, signature_name, arrays):
        """Calls signature `signature_name` on `{input name: numpy array}`.

        Returns:
            dict `{output name: numpy array}`.

        Raises:
            tensorflow.errors.OpError: the model refused the request (see `error_status`).
        """
        tf = self._tf
        fn = self._functions[signature_name]
        specs = self.signatures[signature_name]
        tensors = {
            name: tf.constant(value, dtype=tf.string if specs[name].is_string else None)
            for name, value in arrays.items()
        }
        with self._lock:
            self.calls += 1
            self.elements += len(next(iter(arrays.values()))) if arrays else 0
        outputs = fn(**tensors)
        return {name: value.numpy() for name, value in outputs.items()}

    def error(self, error, signature_name):
        """The `ServingError` that answers an error raised by `run`.

        TensorFlow's `InvalidArgumentError` (the export's request checks, a decoder refusing
        bytes) is the client's fault: 400, with the assertion's message (which names the input
        and the elements) and without TensorFlow's node and op noise. A decoder error names no
        input: when one input of that modality exists, the message is prefixed with it. Other
        errors are the server's: 500.
        """
        tf = self._tf
        if isinstance(error, ServingError):
            return error
        if isinstance(error, tf.errors.InvalidArgumentError):
            reason = _reason(error)
            specs = self.signatures.get(signature_name, {})
            if not any(f"`{name}`" in reason for name in specs):
                owner = self._decoder_input(error, specs)
                if owner is not None:
                    reason = f"input `{owner}`: {reason}"
            return ServingError(400, reason)
        if isinstance(error, tf.errors.ResourceExhaustedError):
            return ServingError(503, f"the server ran out of resources: {_reason(error)}")
        if isinstance(error, tf.errors.OpError):
            return ServingError(500, f"the model failed: {_reason(error)}")
        return ServingError(500, f"internal error: {type(error).__name__}: {error}")

    @staticmethod
    def _decoder_input(error, specs):
        message = getattr(error, "message", None) or str(error)
        match = _NODE.search(message)
        node = match.group(1).lower() if match else ""
        for pattern, modality in _DECODER_MODALITY:
            if pattern in node:
                owners = [n for n, s in specs.items() if s.modality == modality]
                return owners[0] if len(owners) == 1 else None
        return None

    def __repr__(self):
        return f"ServedModel({self.export_dir!r}, signatures={sorted(self.signatures)})"
