"""Reading manifests: CSV, JSONL, a list of dicts, or a pandas DataFrame."""

import csv
import json
import math
import os


def is_empty(value):
    """True for a cell that holds nothing: None, NaN, or a blank string."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def read_manifest(source):
    """Reads manifest records.

    CSV and JSONL files are read as UTF-8; bytes that are not valid UTF-8 are kept as surrogate
    escapes so that validation can report the row instead of failing on the whole file.

    Args:
        source: path of a `.csv` / `.jsonl` / `.json` file (a JSON file holds a list of records),
            a list of dicts, or a pandas DataFrame.

    Returns:
        `(records, name, base_dir)`: a list of dicts, a name for messages, and the directory
        relative paths resolve against when the pipeline has no `root` (the manifest's folder,
        or the working directory for in-memory manifests).

    Raises:
        ValueError: unknown file type or malformed JSON (naming the line).
        FileNotFoundError: the manifest file does not exist.
    """
    if hasattr(source, "to_dict") and hasattr(source, "columns"):
        return list(source.to_dict("records")), "DataFrame", os.getcwd()
    if isinstance(source, list | tuple):
        for i, record in enumerate(source):
            if not isinstance(record, dict):
                raise ValueError(
                    f"Manifest list item {i} must be a dict, received {type(record).__name__}."
                )
        return [dict(r) for r in source], "list of dicts", os.getcwd()
    path = os.fspath(source)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Manifest file not found: {path!r}.")
    base_dir = os.path.dirname(os.path.abspath(path))
    ext = os.path.splitext(path)[1].lower()
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
        if ext in (".csv", ".tsv"):
            reader = csv.DictReader(f, delimiter="\t" if ext == ".tsv" else ",")
            return [dict(r) for r in reader], path, base_dir
        if ext == ".jsonl":
            records = []
            for line_no, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}: line {line_no} is not valid JSON ({e}).") from e
                if not isinstance(record, dict):
                    raise ValueError(f"{path}: line {line_no} is not a JSON object.")
                records.append(record)
            return records, path, base_dir
        if ext == ".json":
            records = json.load(f)
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise ValueError(f"{path}: a .json manifest must hold a list of objects.")
            return records, path, base_dir
    raise ValueError(
        f"Manifest {path!r} has an unknown extension {ext!r}; allowed: .csv, .tsv, .jsonl, .json "
        "(or pass a list of dicts or a pandas DataFrame)."
    )
