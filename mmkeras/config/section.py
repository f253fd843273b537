"""`Section`, the base of every config section, and the value types sections share."""

import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

AUTO = "auto"


def _auto_or_positive_int(value):
    if value == AUTO:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PydanticCustomError(
            "auto_or_int",
            "{value} is not allowed; allowed: a positive integer or 'auto'",
            {"value": repr(value)},
        )
    return value


AutoInt = Annotated[Any, BeforeValidator(_auto_or_positive_int)]


def _temperature(value):
    if value == "learnable":
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise PydanticCustomError(
            "temperature",
            "{value} is not allowed; allowed: 'learnable' or a positive number",
            {"value": repr(value)},
        )
    return float(value)


Temperature = Annotated[Any, BeforeValidator(_temperature)]


def _annotation_types(annotation):
    """The plain types an annotation admits (through Optional, unions and `Annotated`)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _annotation_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return {t for a in typing.get_args(annotation) for t in _annotation_types(a)}
    return {origin or annotation}


def _bool_for_number(annotation, value):
    """Whether `value` holds a boolean where `annotation` wants an int or a float."""
    if isinstance(value, list | tuple):
        inner = [
            a
            for t in (annotation,)
            for a in typing.get_args(t)
            if typing.get_origin(t) in (list, tuple)
        ]
        if not inner:
            inner = [
                a
                for u in typing.get_args(annotation)
                if typing.get_origin(u) in (list, tuple)
                for a in typing.get_args(u)
            ]
        return any(_bool_for_number(a, v) for a in inner if a is not Ellipsis for v in value)
    if not isinstance(value, bool):
        return False
    admitted = _annotation_types(annotation)
    return bool(admitted & {int, float}) and not admitted & {bool, Any}


class Section(BaseModel):
    """Base of every section: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data):
        if not isinstance(data, dict) or cls.model_config.get("extra") != "forbid":
            return data
        allowed = cls.allowed_keys()
        unknown = [k for k in data if k not in allowed and k not in cls.model_fields]
        if unknown:
            raise cls._unknown_keys_error(unknown)
        fields = {f.alias or name: f for name, f in cls.model_fields.items()}
        fields.update(cls.model_fields)
        for key, value in data.items():
            # pydantic reads true/false as 1/0 for a number; in YAML `batch_size: yes` is a slip.
            if _bool_for_number(fields[key].annotation, value):
                raise PydanticCustomError(
                    "bool_for_number",
                    "{key}: expected a number, got {value} (a boolean; YAML reads yes/no/on/off "
                    "as booleans)",
                    {"key": str(key), "value": repr(value)},
                )
        return data

    @classmethod
    def allowed_keys(cls):
        """The keys this section accepts, as written in YAML."""
        return {f.alias or name for name, f in cls.model_fields.items()}

    @classmethod
    def _unknown_keys_error(cls, keys):
        """The error for `keys` that this section does not take (a subclass may say more)."""
        return PydanticCustomError(
            "unknown_keys",
            "unknown keys {keys}",
            {"keys": [str(k) for k in keys], "allowed": sorted(cls.allowed_keys())},
        )
