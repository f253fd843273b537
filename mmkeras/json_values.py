"""JSON text that must hold an object, with one wording for its errors.

Imports nothing from mmkeras (data, train and pretrained all use it).
"""

import json


def json_object(text, where, show_text=False):
    """The dict that the JSON `text` holds.

    Args:
        text: str, the JSON text.
        where: str, what the text is, for messages (`"TF_CONFIG"`, `"m.jsonl: line 3"`).
        show_text: bool, end each message with the first 200 characters of `text`.

    Raises:
        ValueError: `{where} is not valid JSON (...)` or `{where} is not a JSON object`.

    Example:
    >>> json_object('{"a": 1}', "TF_CONFIG")
    {'a': 1}
    >>> json_object("[1]", "TF_CONFIG", show_text=True)
    Traceback (most recent call last):
    ...
    ValueError: TF_CONFIG is not a JSON object; received '[1]'.
    """
    received = f"; received {text[:200]!r}" if show_text else ""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{where} is not valid JSON ({e}){received}.") from None
    if not isinstance(value, dict):
        raise ValueError(f"{where} is not a JSON object{received}.")
    return value
