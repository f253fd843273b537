"""Reading, validating and writing run configurations (YAML <-> `RunConfig`)."""

import os
import re

from mmkeras.atomic_files import write_text
from mmkeras.config.config_error import ConfigError, did_you_mean
from mmkeras.config.schema import UNION_TAGS, RunConfig
from mmkeras.config.task_config import TASK_TAGS, describe_task_kinds
from mmkeras.names import TASK_KINDS

_TYPE_WORDS = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "dict_type": "a mapping (key: value)",
    "list_type": "a list",
    "tuple_type": "a list",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
}
# How pydantic names the discriminators of `model.task` in its errors.
_TASK_DISCRIMINATORS = ("_task_tag()", "_task_kind()")
_RANGE_WORDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}


def _path(loc):
    parts = []
    for i, part in enumerate(loc):
        # Tagged unions add the tag to the location; the user never wrote it as a key.
        if isinstance(part, str) and part in UNION_TAGS and i > 0 and _is_tag(loc, i):
            continue
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif parts:
            parts.append(f".{part}")
        else:
            parts.append(str(part))
    return "".join(parts) or "(top level)"


def _is_tag(loc, i):
    if loc[i] in TASK_TAGS:
        # model.task.<kind or "multi">, and model.task.multi.<name>.<kind>
        return loc[i - 1] == "task" or (i >= 3 and loc[i - 2] == "multi" and loc[i - 3] == "task")
    return i >= 2 and loc[i - 2] == "specs"


def _shown(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_from_expected(expected):
    return re.findall(r"'([^']*)'", expected) or re.findall(r"\b(\d+)\b", expected)


def _describe(error):
    """One line for one pydantic error dict."""
    kind = error["type"]
    loc = tuple(error["loc"])
    ctx = error.get("ctx") or {}
    value = error.get("input")
    path = _path(loc)
    if kind == "unknown_keys":
        allowed = ctx["allowed"]
        lines = []
        for key in ctx["keys"]:
            where = f"{path}.{key}" if loc else key
            lines.append(
                f"{where}: unknown key; allowed keys: {', '.join(allowed)}"
                f"{did_you_mean(key, allowed)}"
            )
        return lines
    if kind == "bool_for_number":
        where = f"{path}.{ctx['key']}" if loc else ctx["key"]
        return [
            f"{where}: expected a number, got {ctx['value']} (YAML reads yes/no/on/off/true/false "
            "as booleans)"
        ]
    if kind == "extra_forbidden":
        return [f"{path}: unknown key"]
    if kind == "missing":
        return [f"{path}: required key is missing"]
    if kind == "cross":
        return list(ctx["problems"])
    if kind == "literal_error":
        allowed = _allowed_from_expected(ctx.get("expected", ""))
        return [
            f"{path}: {_shown(value)} is not allowed; allowed: {ctx.get('expected')}"
            f"{did_you_mean(value, allowed)}"
        ]
    if kind == "union_tag_invalid" and ctx.get("discriminator") in _TASK_DISCRIMINATORS:
        tag = ctx.get("tag")
        return [
            f"{path}.kind: {_shown(tag)} is not allowed; allowed: {describe_task_kinds()}"
            f"{did_you_mean(tag, TASK_KINDS)}"
        ]
    if kind == "union_tag_invalid":
        allowed = _allowed_from_expected(ctx.get("expected_tags", ""))
        tag = ctx.get("tag")
        return [
            f"{path}.{ctx.get('discriminator', '').strip(chr(39))}: {tag!r} is not allowed; "
            f"allowed: {ctx.get('expected_tags')}{did_you_mean(tag, allowed)}"
        ]
    if kind in _RANGE_WORDS:
        bound = next(iter(ctx.values()))
        return [f"{path}: {_shown(value)} is out of range; allowed: {_RANGE_WORDS[kind]} {bound}"]
    if kind in ("too_short", "too_long"):
        return [f"{path}: {_shown(value)} has the wrong length; {error['msg'].lower()}"]
    if kind == "string_pattern_mismatch":
        return [f"{path}: {_shown(value)} is not allowed; allowed: letters, digits, '_', '-', '.'"]
    if kind in _TYPE_WORDS:
        return [
            f"{path}: expected {_TYPE_WORDS[kind]}, got {_shown(value)} ({type(value).__name__})"
        ]
    if kind == "task_field":
        return [
            f"{path}.{key}: does not apply to a {ctx['kind']} task; allowed keys: "
            f"{', '.join(ctx['allowed'])}"
            for key in ctx["keys"]
        ]
    message = error["msg"]
    message = message.removeprefix("Value error, ")
    return [f"{path}: {message}"]


def problems_of(validation_error):
    """Turns a pydantic `ValidationError` into a list of one-line problems."""
    problems = []
    for error in validation_error.errors(include_url=False):
        for line in _describe(error):
            if line not in problems:
                problems.append(line)
    return problems


def from_dict(data, base_dir=".", source=None):
    """Validates a configuration given as a dict (same keys as the YAML file).

    Args:
        data: dict of the configuration.
        base_dir: directory that relative paths are relative to.
        source: optional name used in error messages.

    Returns:
        A `RunConfig`.

    Raises:
        ConfigError: listing every problem, one line each.
    """
    from pydantic import ValidationError

    if not isinstance(data, dict):
        raise ConfigError(
            [f"(top level): expected a mapping of sections, got {type(data).__name__}"], source
        )
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(problems_of(e), source) from None
    config._base_dir = os.path.abspath(base_dir)
    return config


def _unique_key_loader():
    """A `yaml.SafeLoader` that refuses a key given twice in one mapping.

    PyYAML keeps the last of two equal keys; in a configuration that silently discards a setting.
    """
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: the base class reports it
                    break
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {key!r} (first given at line {first + 1})",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark.line
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


def loads(text, base_dir=".", source=None):
    """Validates a configuration given as YAML text; see `load`."""
    import yaml

    try:
        data = yaml.load(text, Loader=_unique_key_loader())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError([f"(YAML){where}: {problem}"], source) from None
    if data is None:
        raise ConfigError(["(top level): the file is empty"], source)
    return from_dict(data, base_dir=base_dir, source=source)


def load(path):
    """Reads and validates a YAML run configuration.

    Relative paths inside it (manifests, root, teacher) are relative to the file's directory.

    Args:
        path: path of the YAML file.

    Returns:
        A `RunConfig`.

    Raises:
        ConfigError: the file is missing, is not YAML, or breaks the schema (one line per problem).

    Example:
    >>> config = mmkeras.config.load("examples/configs/tabular.yaml")
    >>> run = mmkeras.train.fit(config)
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ConfigError([f"(file): {path!r} does not exist or is not a file"], path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return loads(text, base_dir=os.path.dirname(os.path.abspath(path)), source=path)


def to_dict(config):
    """The configuration as a plain dict with YAML key names (defaults included)."""
    return config.model_dump(mode="json", by_alias=True)


def dump(config, path=None):
    """Writes the configuration as YAML (atomically) and returns the YAML text.

    Args:
        config: a `RunConfig`.
        path: optional file to write; written to a temporary name, then renamed.
    """
    import yaml

    text = yaml.safe_dump(to_dict(config), sort_keys=False, default_flow_style=None)
    if path is not None:
        write_text(path, text)
    return text
