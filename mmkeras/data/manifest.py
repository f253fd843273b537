"""Reading manifests: CSV, JSONL, a list of dicts, or a pandas DataFrame."""

import codecs
import csv
import json
import math
import os

from mmkeras.json_values import json_object

# Delimiters a CSV header is sniffed among when none is given.
DELIMITERS = ",;\t|"
_EXTENSIONS = (".csv", ".tsv", ".jsonl", ".json")
_WIDE_BOMS = {
    codecs.BOM_UTF32_LE: "UTF-32",
    codecs.BOM_UTF32_BE: "UTF-32",
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
}


def is_empty(value):
    """True for a cell that holds nothing: None, NaN, or a blank string."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def check_delimiter(delimiter, owner):
    """Returns `delimiter` if it is None or one character, else raises `ValueError`."""
    if delimiter is None or (isinstance(delimiter, str) and len(delimiter) == 1):
        return delimiter
    raise ValueError(
        f"{owner}: `delimiter` must be None (sniffed from the header among {DELIMITERS!r}) or "
        f"one character such as ';', received {delimiter!r}."
    )


def sniff_delimiter(header):
    """The delimiter of a CSV header line among `,;\\t|`; `,` when it holds one column."""
    try:
        return csv.Sniffer().sniff(header, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def _not_utf8(path, line_no, line):
    """A `ValueError` for a manifest line that is not UTF-8, showing where it breaks."""
    raw = line.encode("utf-8", "surrogateescape")
    try:
        raw.decode("utf-8")
        where = "it holds NUL bytes, as UTF-16 text does"
    except UnicodeDecodeError as e:
        where = f"byte 0x{raw[e.start]:02X} at position {e.start}"
    return ValueError(
        f"{path}: line {line_no} is not valid UTF-8 text ({where}). Save the manifest as "
        "UTF-8 (in Excel: 'CSV UTF-8'); a UTF-8 byte-order mark is fine."
    )


def _has_bad_bytes(text):
    return "\x00" in text or any("\udc80" <= ch <= "\udcff" for ch in text)


def _read_csv(f, path, delimiter):
    header = f.readline()
    if not header.strip():
        raise ValueError(f"{path}: the manifest is empty (no header line, no rows).")
    if _has_bad_bytes(header):
        raise _not_utf8(path, 1, header)
    if delimiter is None:
        delimiter = sniff_delimiter(header.rstrip("\r\n"))
    f.seek(0)  # the utf-8-sig decoder drops the byte-order mark again
    reader = csv.DictReader(f, delimiter=delimiter)
    records = []
    try:
        for record in reader:
            if "\x00" in "".join(v for v in record.values() if isinstance(v, str)):
                raise _not_utf8(path, reader.line_num, "\x00")
            records.append(dict(record))
    except csv.Error as e:
        raise ValueError(f"{path}: line {reader.line_num} is not valid CSV ({e}).") from e
    if not records:
        columns = len(reader.fieldnames or [])
        raise ValueError(
            f"{path}: the manifest has a header line ({columns} columns) but no data rows."
        )
    return records


def _read_jsonl(f, path):
    records = []
    for line_no, line in enumerate(f, start=1):
        if not line.strip():
            continue
        if "\x00" in line:
            raise _not_utf8(path, line_no, line)
        records.append(json_object(line, f"{path}: line {line_no}"))
    if not records:
        raise ValueError(f"{path}: the manifest is empty (no JSON lines).")
    return records


def _read_json(f, path):
    text = f.read()
    if "\x00" in text:
        line_no = text[: text.index("\x00")].count("\n") + 1
        raise _not_utf8(path, line_no, "\x00")
    try:
        records = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: line {e.lineno} is not valid JSON ({e.msg}).") from e
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError(f"{path}: a .json manifest must hold a list of objects.")
    if not records:
        raise ValueError(f"{path}: the manifest holds an empty list (no rows).")
    return records


def read_manifest(source, delimiter=None):
    """Reads manifest records.

    Files are read as UTF-8; a UTF-8 byte-order mark (Excel's "CSV UTF-8") is dropped. Bytes
    that are not valid UTF-8 inside data rows are kept as surrogate escapes, so that validation
    reports the row (`text_not_utf8`) instead of failing on the whole file; a header line that
    is not UTF-8, or a UTF-16 / UTF-32 file, is an error naming the file and line.

    CSV files are split on `delimiter`; without one, a `.tsv` file on tabs and a `.csv` file on
    the delimiter sniffed from its header line among `,`, `;`, tab and `|` (`,` when the header
    has one column).

    Args:
        source: path of a `.csv` / `.tsv` / `.jsonl` / `.json` file (a JSON file holds a list of
            records), a list of dicts, or a pandas DataFrame.
        delimiter: optional one-character CSV delimiter (None: sniff it).

    Returns:
        `(records, name, base_dir)`: a list of dicts, a name for messages, and the directory
        relative paths resolve against when the pipeline has no `root` (the manifest's folder,
        or the working directory for in-memory manifests).

    Raises:
        ValueError: unknown file type; a folder instead of a file; a file that is empty or has
            a header but no rows; a file that is not UTF-8 or a line that is not valid JSON /
            CSV (naming the line); a bad `delimiter`.
        FileNotFoundError: the manifest file does not exist.
    """
    check_delimiter(delimiter, "read_manifest")
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
    if os.path.isdir(path):
        raise ValueError(
            f"Manifest {path!r} is a folder, not a file: pass the manifest file inside it "
            f"({', '.join(_EXTENSIONS)})."
        )
    if not os.path.exists(path):
        raise FileNotFoundError(f"Manifest file not found: {path!r}.")
    base_dir = os.path.dirname(os.path.abspath(path))
    ext = os.path.splitext(path)[1].lower()
    if ext not in _EXTENSIONS:
        raise ValueError(
            f"Manifest {path!r} has an unknown extension {ext!r}; allowed: "
            f"{', '.join(_EXTENSIONS)} (or pass a list of dicts or a pandas DataFrame)."
        )
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise ValueError(f"Manifest {path!r} cannot be read: {e.strerror or e}.") from e
    for bom, encoding in _WIDE_BOMS.items():
        if head.startswith(bom):
            raise ValueError(
                f"{path}: line 1 is not UTF-8: the file is {encoding} (it starts with a "
                f"{encoding} byte-order mark). Save the manifest as UTF-8 (in Excel: 'CSV UTF-8')."
            )
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        if ext in (".csv", ".tsv"):
            if delimiter is None and ext == ".tsv":
                delimiter = "\t"
            return _read_csv(f, path, delimiter), path, base_dir
        if ext == ".jsonl":
            return _read_jsonl(f, path), path, base_dir
        return _read_json(f, path), path, base_dir
