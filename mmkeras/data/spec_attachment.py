"""Checking a pipeline's schema and attaching a spec to each of its names."""

from mmkeras.data.spec import Spec, spec_class, spec_classes


def check_schema(schema):
    """Raises `ValueError` unless `schema` maps str names to a column or a list of columns."""
    if not isinstance(schema, dict) or not schema:
        raise ValueError(f"Pipeline: `schema` must be a non-empty dict, received {schema!r}.")
    for name, column in schema.items():
        ok = isinstance(column, str) or (
            isinstance(column, list | tuple) and column and all(isinstance(c, str) for c in column)
        )
        if not isinstance(name, str) or not ok:
            raise ValueError(
                f"Pipeline: schema entry {name!r}: {column!r} must map a str name to a column "
                "name (or, for a tabular input, a list of column names)."
            )


def attach_specs(schema, shorthands, specs=None, targets=None):
    """The spec of every schema name, from the `Pipeline` arguments that attach them.

    Each spec is a copy without learnt state, so a pipeline's `adapt` never changes a spec
    object that the caller (or another pipeline) holds.

    Args:
        schema: the checked schema.
        shorthands: `{key: spec or None}` of `image=`, `text=`, ... (attached to that key).
        specs: optional `{name: spec}`.
        targets: optional `{name: target spec}`.

    Returns:
        `{name: spec}` in schema order; a `"label"` key without a spec gets a `LabelSpec()`.
    """
    attached = {}
    for key, spec in shorthands.items():
        if spec is None:
            continue
        if key not in schema:
            raise ValueError(
                f"Pipeline: `{key}=` attaches a spec to the schema key {key!r}, which is not in "
                f"the schema (keys: {list(schema)}); use `specs={{name: spec}}` for other names."
            )
        attached[key] = spec
    for arg_name, mapping in (("specs", specs), ("targets", targets)):
        if mapping is None:
            continue
        if not isinstance(mapping, dict):
            raise ValueError(f"Pipeline: `{arg_name}` must be a dict, received {mapping!r}.")
        for key, spec in mapping.items():
            if key not in schema:
                raise ValueError(
                    f"Pipeline: `{arg_name}` names {key!r}, which is not a schema key "
                    f"(keys: {list(schema)})."
                )
            if key in attached:
                raise ValueError(f"Pipeline: {key!r} has two specs attached.")
            if arg_name == "targets" and not getattr(spec, "is_target", False):
                raise ValueError(
                    f"Pipeline: `targets[{key!r}]` must be a LabelSpec, received {spec!r}."
                )
            attached[key] = spec
    if "label" in schema and "label" not in attached:
        attached["label"] = spec_class("LabelSpec")()
    for name in schema:
        spec = attached.get(name)
        if spec is None:
            raise ValueError(
                f"Pipeline: schema key {name!r} has no spec; attach one with image=/text=/"
                "audio=/tabular=/label= (for that key name) or specs={name: spec}."
            )
        if not isinstance(spec, Spec):
            raise ValueError(
                f"Pipeline: the spec for {name!r} must be one of {sorted(spec_classes())}, "
                f"received {type(spec).__name__}."
            )
        is_list = not isinstance(schema[name], str)
        if is_list != spec.multi_column:
            raise ValueError(
                f"Pipeline: schema key {name!r} maps to {schema[name]!r}; a list of columns is "
                "for a multi-column spec (TabularSpec, CategoricalSpec), every other spec takes one "
                "column."
            )
    return {name: attached[name].copy_unadapted() for name in schema}
