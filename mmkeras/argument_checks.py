"""Checks of constructor and function arguments, with one wording for every error.

Each check raises `ValueError` saying where (`where`, e.g. the builder or layer name), which
argument, what is allowed, and what was received:

    image_cnn: `output_dim` must be a positive integer; received output_dim=0.
    audio_cnn: unknown pooling='flatten'; `pooling` must be one of ['avg', 'attention'].

and returns the value (normalised where said) so that a check can wrap an assignment.
Imports nothing (layers, data specs and the config may all use it).
"""


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_positive_int(value):
    """Whether `value` is an integer > 0 (a bool is not)."""
    return _is_int(value) and value > 0


def is_rate(value, allow_one=False):
    """Whether `value` is a number in [0, 1) (or [0, 1] when `allow_one`), a bool excluded."""
    return _is_number(value) and 0 <= value and (value <= 1 if allow_one else value < 1)


def _prefix(where):
    return f"{where}: " if where else ""


def argument_error(name, value, allowed, where=None):
    """The `ValueError` for argument `name` of value `value`, which must be `allowed`.

    Args:
        name: str, the argument's name.
        value: what was received.
        allowed: str, what is allowed, e.g. `"a positive integer"`.
        where: optional str, the function, builder or layer the argument belongs to.
    """
    return ValueError(f"{_prefix(where)}`{name}` must be {allowed}; received {name}={value!r}.")


def check_int(name, value, minimum=None, where=None, allow_none=False):
    """Checks that `value` is an integer (not a bool), at least `minimum` when given."""
    if value is None and allow_none:
        return value
    if not _is_int(value) or (minimum is not None and value < minimum):
        allowed = "an integer" if minimum is None else f"an integer >= {minimum}"
        raise argument_error(name, value, allowed + (" or None" if allow_none else ""), where)
    return value


def check_positive_int(name, value, where=None, allow_none=False):
    """Checks that `value` is an integer > 0 (not a bool), or None when `allow_none`."""
    if value is None and allow_none:
        return value
    if not is_positive_int(value):
        allowed = "a positive integer" + (" or None" if allow_none else "")
        raise argument_error(name, value, allowed, where)
    return value


def check_positive_ints(name, values, where=None, allow_empty=False):
    """Checks a tuple or list of integers > 0 (one int counts as a tuple of one); returns a tuple."""
    if _is_int(values):
        values = (values,)
    ok = isinstance(values, (tuple, list)) and (allow_empty or len(values) > 0)
    if not (ok and all(is_positive_int(v) for v in values)):
        allowed = "a (possibly empty)" if allow_empty else "a non-empty"
        raise argument_error(name, values, f"{allowed} tuple of positive integers", where)
    return tuple(values)


def check_positive_number(name, value, where=None, allow_none=False):
    """Checks that `value` is a number > 0 (not a bool), or None when `allow_none`."""
    if value is None and allow_none:
        return value
    if not _is_number(value) or not value > 0:
        allowed = "a positive number" + (" or None" if allow_none else "")
        raise argument_error(name, value, allowed, where)
    return value


def check_rate(name, value, where=None, allow_one=False):
    """Checks that `value` is a number in [0, 1) (or [0, 1] when `allow_one`), like a dropout rate."""
    if not is_rate(value, allow_one):
        interval = "[0, 1]" if allow_one else "[0, 1)"
        raise argument_error(name, value, f"a float in {interval}", where)
    return value


def check_fraction(name, value, where=None, upper=1.0):
    """Checks that `value` is a number in [0, `upper`]; returns it as a float."""
    if not _is_number(value) or not 0 <= value <= upper:
        raise argument_error(name, value, f"a number in [0, {upper}]", where)
    return float(value)


def check_choice(name, value, allowed, where=None):
    """Checks that `value` is one of `allowed` (listed in their order; a set is sorted)."""
    if value not in allowed:
        if isinstance(allowed, (set, frozenset)):
            allowed = sorted(allowed, key=str)
        raise ValueError(
            f"{_prefix(where)}unknown {name}={value!r}; `{name}` must be one of {list(allowed)}."
        )
    return value


def check_bool(name, value, where=None, allowed="a bool"):
    """Checks that `value` is True or False (`allowed` words what is allowed in the error)."""
    if not isinstance(value, bool):
        raise argument_error(name, value, allowed, where)
    return value


def check_divisible(name, value, divisor_name, divisor, where=None):
    """Checks that `value` (argument `name`) is a multiple of argument `divisor_name`."""
    if value % divisor:
        raise ValueError(
            f"{_prefix(where)}`{name}` ({value}) must be divisible by `{divisor_name}`; received "
            f"{divisor_name}={divisor}."
        )
    return value


def check_number_above(name, value, bound, allowed, where=None):
    """Checks that `value` is a number (not a bool) > `bound`; `allowed` words it for the error."""
    if not _is_number(value) or not value > bound:
        raise argument_error(name, value, allowed, where)
    return value
