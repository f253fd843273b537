"""Checking manifest rows against a pipeline's specs: the usable rows, and a report of the rest."""

import dataclasses
import os

from mmkeras.data.manifest import read_manifest
from mmkeras.data.validation_report import Problem, ValidationReport


@dataclasses.dataclass(frozen=True)
class RowContext:
    """What a spec needs to know to check a manifest cell, besides the cell.

    Attributes:
        base_dir: the manifest's folder (the working directory for in-memory manifests).
        root: the pipeline's `root`, or None (then `base_dir`).
        confine_paths: bool, files must resolve to real paths under the root.
        allow_missing: bool, an empty cell marks the input absent instead of a bad row.
        deep: bool, decode files fully (images) instead of reading their headers only.
        check_labels: bool, check labels against the label index (False while adapting).
    """

    base_dir: str
    root: str | None = None
    confine_paths: bool = False
    allow_missing: bool = False
    deep: bool = False
    check_labels: bool = True

    def resolve(self, value):
        """The path a manifest cell names, as `(path, None)`, or `(None, problem)` when
        `confine_paths` is on and the path leaves the root."""
        path = os.path.expanduser(str(value).strip())
        if not os.path.isabs(path):
            path = os.path.normpath(os.path.join(self.root or self.base_dir, path))
        if not self.confine_paths:
            return path, None
        # Checked before existence, so nothing is learnt about files outside the root.
        root = os.path.realpath(self.root or self.base_dir)
        real = os.path.realpath(path)
        try:
            inside = os.path.commonpath([root, real]) == root
        except ValueError:  # Windows: another drive
            inside = False
        if inside:
            return real, None
        detail = f"the path resolves to {real!r}, outside the root {root!r}"
        return None, ("path_outside_root", detail, path)


def _check_columns(schema, records, name):
    columns = set()
    for record in records:
        columns.update(record)
    for key, column in schema.items():
        for col in column if isinstance(column, list) else [column]:
            if records and col not in columns:
                hint = ""
                if len(columns) == 1:
                    hint = (
                        " (one column: if the file uses another delimiter, pass it as "
                        "Pipeline(delimiter=...))"
                    )
                raise ValueError(
                    f"{name}: column {col!r} (schema key {key!r}) is not in the manifest; "
                    f"its columns are {sorted(columns)}{hint}."
                )


def check_rows(pipe, source, deep=False, check_labels=True):
    """Reads a manifest and checks every row with the pipeline's specs.

    Args:
        pipe: the `Pipeline`.
        source: CSV / JSONL path, list of dicts or DataFrame.
        deep: decode files fully.
        check_labels: check labels against the label index.

    Returns:
        `(rows, report)`: the usable rows, each `{"row": i, name: (raw, size), ...}`, and the
        `ValidationReport` of the others.
    """
    records, name, base_dir = read_manifest(source, delimiter=pipe.delimiter)
    if not records:
        raise ValueError(f"The manifest ({name}) has no rows.")
    _check_columns(pipe.schema, records, name)
    context = RowContext(
        base_dir=base_dir,
        root=pipe.root,
        confine_paths=pipe.confine_paths,
        allow_missing=pipe.allow_missing,
        deep=deep,
        check_labels=check_labels,
    )
    rows, problems = [], []
    for i, record in enumerate(records):
        parsed, row_problems = {"row": i}, []
        absent = 0
        for key in pipe.input_names:
            spec, column = pipe.specs[key], pipe.schema[key]
            value = [record.get(c) for c in column] if spec.multi_column else record.get(column)
            raw, size, problem = spec.check(key, value, column, context)
            if problem:
                row_problems.append(Problem(i, key, problem[2], problem[0], problem[1]))
                continue
            parsed[key] = (raw, size)
            absent += spec.is_absent(raw)
        if not row_problems and absent == len(pipe.input_names):
            row_problems.append(
                Problem(i, "*", None, "value_missing", "every input of the row is empty")
            )
        for key in pipe.target_names:
            column = pipe.schema[key]
            raw, size, problem = pipe.specs[key].check(key, record.get(column), column, context)
            if problem:
                row_problems.append(Problem(i, key, problem[2], problem[0], problem[1]))
            parsed[key] = (raw, size)
        if row_problems:
            problems.extend(row_problems)
        else:
            rows.append(parsed)
    return rows, ValidationReport(name, len(records), problems)
