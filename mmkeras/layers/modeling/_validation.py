"""Argument checks shared by the modeling layers (private)."""


def check_positive_int(name, value):
    """Raises `ValueError` unless `value` is an int > 0 (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer; received {name}={value!r}.")


def check_rate(name, value):
    """Raises `ValueError` unless `value` is a number in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"`{name}` must be a float in [0, 1); received {name}={value!r}.")
