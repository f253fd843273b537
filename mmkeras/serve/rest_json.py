"""TensorFlow Serving's REST JSON: predict requests to numpy arrays, outputs back to JSON.

Follows TF Serving's rules (`tensorflow_serving/util/json_tensor.h`): the row format
`{"instances": [...]}` (one entry per batch element: an object of input name -> value, or the
bare value when the signature has one input) and the columnar format `{"inputs": {...}}` (input
name -> list over the batch, or the bare list for one input); binary strings as
`{"b64": "..."}`; `signature_name` optional. Requests carry values, never server-side paths: a
plain string for an image or audio input is refused, the server opens no file a request names.

mmkeras additions: `null` marks an absent input of an element (an empty string, a NaN row for
tabular), as `mmkeras.export.Predictor` does; the model decides whether absent is allowed.
"""

import base64
import binascii
import json

import numpy as np

from mmkeras.serve.serving_error import ServingError

DEFAULT_SIGNATURE = "serving_default"
_FILE_MODALITIES = ("image", "audio")


class InputSpec:
    """What a signature input takes: name, numpy dtype (object for strings), element shape.

    Args:
        name: str, the input name.
        dtype: numpy dtype of the batched array (`object` for tf.string).
        shape: tuple, the shape of one element (without the batch axis); None where any size.
        modality: str or None, the mmkeras modality ("image", "text", "audio", "tabular").
    """

    def __init__(self, name, dtype, shape, modality=None):
        self.name = name
        self.dtype = np.dtype(dtype)
        self.shape = tuple(shape)
        self.modality = modality

    @property
    def is_string(self):
        return self.dtype == np.dtype(object)

    def __repr__(self):
        return f"InputSpec({self.name!r}, {self.dtype}, {self.shape}, {self.modality!r})"


class PredictRequest:
    """A parsed predict request: `arrays` `{input name: numpy array}` of `size` elements."""

    def __init__(self, signature_name, arrays, size, columnar):
        self.signature_name = signature_name
        self.arrays = arrays
        self.size = size
        self.columnar = columnar


def decode_json(data):
    """Parses the request body `data` (bytes) as UTF-8 JSON.

    Raises:
        ServingError: 400 for a body that is not UTF-8, not JSON, or nested too deeply.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ServingError(
            400, f"the request body is not UTF-8 JSON (invalid byte at offset {e.start})"
        ) from None
    if not text.strip():
        raise ServingError(400, "the request body is empty; send a JSON object")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ServingError(
            400, f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}"
        ) from None
    except RecursionError:
        raise ServingError(400, "malformed JSON: nested too deeply") from None


def _json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _is_b64(value):
    return isinstance(value, dict) and len(value) == 1 and "b64" in value


def _names(specs):
    return ", ".join(f"`{n}`" for n in specs)


_ABSENT_HINT = ' (this model takes absent inputs: send null or "" for an absent one)'


class _Converter:
    """Turns the JSON values of one input into a batched numpy array, with clear errors."""

    def __init__(self, spec):
        self.spec = spec

    def _where(self, index):
        return f"input `{self.spec.name}` element {index}"

    def string(self, value, index):
        spec = self.spec
        if value is None:
            return b""
        if _is_b64(value):
            encoded = value["b64"]
            if not isinstance(encoded, str):
                raise ServingError(
                    400,
                    f"{self._where(index)}: `b64` must hold a base64 string, not "
                    f"{_json_type(encoded)}",
                )
            try:
                return base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError) as e:
                raise ServingError(400, f"{self._where(index)}: invalid base64 ({e})") from None
        if isinstance(value, str):
            if spec.modality in _FILE_MODALITIES and value:
                raise ServingError(
                    400,
                    f"{self._where(index)} is a plain string; {spec.modality} input "
                    f'`{spec.name}` takes the file\'s bytes as {{"b64": "..."}} (the server '
                    "reads no files: send the bytes, not a path)",
                )
            try:
                return value.encode("utf-8")
            except UnicodeEncodeError:
                raise ServingError(
                    400,
                    f"{self._where(index)} is not valid UTF-8 text (it holds an unpaired "
                    'surrogate); send raw bytes as {"b64": "..."}',
                ) from None
        kind = "file bytes" if spec.modality in _FILE_MODALITIES else "strings"
        raise ServingError(
            400,
            f'input `{spec.name}` takes {kind} ({{"b64": "..."}} for bytes); element {index} '
            f"is {_json_type(value)}",
        )

    def strings(self, value, index, depth):
        """Nested lists of strings down to the element's rank."""
        if depth == 0:
            return self.string(value, index)
        if not isinstance(value, list):
            raise ServingError(
                400,
                f"{self._where(index)} must be a nested list of shape "
                f"{list(self.spec.shape)} of strings; found {_json_type(value)}",
            )
        return [self.strings(v, index, depth - 1) for v in value]

    def number(self, value, index):
        spec = self.spec
        if value is None and spec.dtype.kind == "f" and None not in spec.shape:
            return np.full(spec.shape, np.nan, spec.dtype)
        try:
            array = np.asarray(value)
        except ValueError:
            array = None  # ragged nesting
        if array is not None and array.dtype.kind == "O":
            try:
                array = np.array(value, dtype=np.float64)  # null -> NaN
            except (ValueError, TypeError):
                array = None
        if array is None or array.dtype.kind not in "iuf":
            found = _json_type(value)
            if array is not None and array.dtype.kind == "U":
                found = "text"
            elif array is not None and array.dtype.kind == "b":
                found = "true/false"
            elif array is None:
                found = "not a regular array of numbers"
            raise ServingError(
                400, f"input `{spec.name}` takes numbers; element {index} holds {found}"
            )
        if not self._shape_ok(array.shape):
            raise ServingError(400, self._shape_message(array.shape, index))
        if spec.dtype.kind in "iu" and array.dtype.kind == "f":
            if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
                raise ServingError(
                    400, f"input `{spec.name}` takes integers; element {index} holds fractions"
                )
        return array.astype(spec.dtype, copy=False)

    def _shape_ok(self, shape):
        want = self.spec.shape
        return len(shape) == len(want) and all(
            w is None or w == s for w, s in zip(want, shape, strict=True)
        )

    def _shape_message(self, shape, index):
        spec = self.spec
        if spec.modality == "tabular" and len(spec.shape) == 1 and len(shape) == 1:
            return (
                f"tabular input `{spec.name}` takes {spec.shape[0]} values per element; "
                f"element {index} has {shape[0]}"
            )
        want = ["any" if d is None else d for d in spec.shape]
        return (
            f"input `{spec.name}` takes elements of shape {want}; element {index} has shape "
            f"{list(shape)}"
        )

    def batch(self, values, start_index=0):
        """A numpy array `(len(values), *shape)` from a list of element values."""
        spec = self.spec
        if spec.is_string:
            depth = len(spec.shape)
            if depth == 0:
                items = [self.string(v, start_index + i) for i, v in enumerate(values)]
                out = np.empty(len(items), dtype=object)
                out[:] = items
                return out
            nested = [self.strings(v, start_index + i, depth) for i, v in enumerate(values)]
            out = np.array(nested, dtype=object)
            if out.ndim != depth + 1:
                raise ServingError(
                    400, f"input `{spec.name}`: elements have different shapes or ranks"
                )
            for i in range(len(nested)):
                if not self._shape_ok(out[i].shape):
                    raise ServingError(400, self._shape_message(out[i].shape, start_index + i))
            return out
        items = [self.number(v, start_index + i) for i, v in enumerate(values)]
        shapes = {a.shape for a in items}
        if len(shapes) > 1:
            raise ServingError(
                400,
                f"input `{spec.name}`: elements have different shapes "
                f"({sorted(list(s) for s in shapes)}); one batch needs one shape",
            )
        if not items:
            return np.zeros((0, *[d or 0 for d in spec.shape]), spec.dtype)
        return np.stack(items)


def _signature_name(body, signatures):
    name = body.get("signature_name", DEFAULT_SIGNATURE)
    if not isinstance(name, str):
        raise ServingError(400, f"`signature_name` must be a string, not {_json_type(name)}")
    if name == "":
        name = DEFAULT_SIGNATURE
    if name not in signatures:
        raise ServingError(
            400,
            f"signature {name!r} not found; this model has signatures {sorted(signatures)}",
        )
    return name


def _check_names(given, specs, where, allow_missing):
    unknown = [n for n in given if n not in specs]
    if unknown:
        raise ServingError(
            400,
            f"{where}unknown input `{unknown[0]}`; this signature takes inputs {_names(specs)}",
        )
    missing = [n for n in specs if n not in given]
    if missing:
        raise ServingError(
            400,
            f"{where}input `{missing[0]}` is missing; this signature takes inputs "
            f"{_names(specs)}{_ABSENT_HINT if allow_missing else ''}",
        )


def _rows(instances, specs, allow_missing):
    if not isinstance(instances, list):
        raise ServingError(
            400,
            f"`instances` must be a list with one entry per element, not {_json_type(instances)}",
        )
    if not instances:
        raise ServingError(400, "the batch is empty: `instances` has no element; send at least one")
    names = list(specs)
    columns = {name: [] for name in names}
    for i, instance in enumerate(instances):
        named = isinstance(instance, dict) and not _is_b64(instance)
        if len(names) == 1 and not (named and set(instance) == set(names)):
            columns[names[0]].append(instance)
            continue
        if not named:
            raise ServingError(
                400,
                f"instance {i} must be an object of input name -> value (this signature takes "
                f"inputs {_names(specs)}); found {_json_type(instance)}",
            )
        _check_names(instance, specs, f"instance {i}: ", allow_missing)
        for name in names:
            columns[name].append(instance[name])
    return {name: _Converter(specs[name]).batch(columns[name]) for name in names}, len(instances)


def _columns(inputs, specs, allow_missing):
    names = list(specs)
    if isinstance(inputs, dict) and not _is_b64(inputs):
        if len(names) == 1 and set(inputs) != set(names):
            inputs = {names[0]: inputs}
    elif len(names) == 1:
        inputs = {names[0]: inputs}
    else:
        raise ServingError(
            400,
            f"`inputs` must be an object of input name -> list of values (this signature takes "
            f"inputs {_names(specs)}); found {_json_type(inputs)}",
        )
    _check_names(inputs, specs, "", allow_missing)
    sizes = {}
    for name in names:
        values = inputs[name]
        if not isinstance(values, list):
            raise ServingError(
                400,
                f"input `{name}` must be a list with one entry per batch element (columnar "
                f"format); found {_json_type(values)}",
            )
        sizes[name] = len(values)
    first = names[0]
    for name in names[1:]:
        if sizes[name] != sizes[first]:
            raise ServingError(
                400,
                f"input `{name}` has {sizes[name]} elements but `{first}` has {sizes[first]}; "
                "every input needs one entry per element",
            )
    if sizes[first] == 0:
        raise ServingError(400, "the batch is empty: the inputs have no element; send at least one")
    arrays = {name: _Converter(specs[name]).batch(inputs[name]) for name in names}
    return arrays, sizes[first]


def predict_request(body, signatures, allow_missing=False):
    """Reads a decoded predict request into numpy arrays.

    Args:
        body: the decoded JSON (see `decode_json`).
        signatures: dict `{signature name: {input name: InputSpec}}`.
        allow_missing: bool, the model takes absent inputs (said in the message of a missing
            input).

    Returns:
        A `PredictRequest`.

    Raises:
        ServingError: 400 with a message naming the input (and element) at fault.
    """
    if not isinstance(body, dict):
        raise ServingError(
            400,
            "the request must be a JSON object with `instances` (row format) or `inputs` "
            f"(columnar format); found {_json_type(body)}",
        )
    name = _signature_name(body, signatures)
    specs = signatures[name]
    if "instances" in body and "inputs" in body:
        raise ServingError(400, "the request has both `instances` and `inputs`; send one of them")
    if "instances" in body:
        arrays, size = _rows(body["instances"], specs, allow_missing)
        return PredictRequest(name, arrays, size, columnar=False)
    if "inputs" in body:
        arrays, size = _columns(body["inputs"], specs, allow_missing)
        return PredictRequest(name, arrays, size, columnar=True)
    raise ServingError(
        400, "the request has neither `instances` (row format) nor `inputs` (columnar format)"
    )


def _jsonable(value):
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return {"b64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def to_json_value(array):
    """A numpy array (or scalar) as JSON-ready Python values; byte strings as UTF-8 text."""
    value = np.asarray(array)
    out = value.tolist()
    return _jsonable(out) if value.dtype.kind in "OSU" else out


def predict_response(outputs, columnar):
    """The response body of a predict request.

    Args:
        outputs: dict `{output name: numpy array}` with the batch on the first axis.
        columnar: True for a request in the columnar format (`inputs`): answers `{"outputs":
            ...}`; False (row format, `instances`): `{"predictions": [...]}`, one entry per element
            (an object of output name -> value, or the bare value for a single output).

    Returns:
        A JSON-ready dict.
    """
    names = list(outputs)
    if columnar:
        if len(names) == 1:
            return {"outputs": to_json_value(outputs[names[0]])}
        return {"outputs": {name: to_json_value(outputs[name]) for name in names}}
    columns = {name: to_json_value(outputs[name]) for name in names}
    size = len(columns[names[0]]) if names else 0
    if len(names) == 1:
        return {"predictions": columns[names[0]]}
    return {"predictions": [{name: columns[name][i] for name in names} for i in range(size)]}
