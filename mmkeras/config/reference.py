"""Markdown reference of the configuration schema, generated from the schema itself."""

import inspect
import types
import typing

from pydantic import BaseModel

from mmkeras.config.schema import RunConfig


def _type_name(annotation):
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin in (list, tuple, dict):
        inner = ", ".join(_type_name(a) for a in args if a is not Ellipsis)
        return f"{origin.__name__}[{inner}]"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    return getattr(annotation, "__name__", str(annotation))


def _sections(model, seen):
    if model in seen:
        return
    seen.append(model)
    for field in model.model_fields.values():
        for inner in _models_in(field.annotation):
            _sections(inner, seen)


def _models_in(annotation):
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def _default(field):
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            return "(section defaults)"
        return repr(value)
    return repr(field.default)


def _constraints(field):
    out = []
    for item in field.metadata:
        for name, sign in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            value = getattr(item, name, None)
            if value is not None:
                out.append(f"{sign} {value}")
        if getattr(item, "min_length", None):
            out.append(f"at least {item.min_length} item(s)")
    return ", ".join(out)


def reference_markdown():
    """The configuration reference as Markdown: one table per section, from the schema."""
    seen = []
    _sections(RunConfig, seen)
    lines = [
        "# Configuration reference",
        "",
        "Generated from the schema in `mmkeras/config/` by `mmkeras.config.reference.reference_markdown()`",
        "(a test checks that this file is up to date). Unknown keys are errors. A YAML file and",
        "`mmkeras.config.from_dict` take the same keys.",
        "",
    ]
    for model in seen:
        doc = inspect.cleandoc(model.__doc__ or "")
        lines += [f"## {model.__name__}", "", doc, ""]
        if model.model_config.get("extra") == "allow":
            lines += ["Other keys are passed on as keyword arguments (see above).", ""]
        lines += ["| key | type | default | allowed |", "|---|---|---|---|"]
        for name, field in model.model_fields.items():
            key = field.alias or name
            lines.append(
                f"| `{key}` | {_type_name(field.annotation)} | {_default(field)} | "
                f"{_constraints(field)} |"
            )
        lines.append("")
    return "\n".join(lines)
