"""Small argument checks shared by the spec classes."""


def check_positive_int(name, value, owner):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{owner}: `{name}` must be a positive int, received {value!r}.")
    return value


def check_positive_number(name, value, owner, allow_none=False):
    if value is None and allow_none:
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        allowed = "a positive number" + (" or None" if allow_none else "")
        raise ValueError(f"{owner}: `{name}` must be {allowed}, received {value!r}.")
    return value


def check_fraction(name, value, owner, upper=1.0):
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= upper:
        raise ValueError(f"{owner}: `{name}` must be a number in [0, {upper}], received {value!r}.")
    return float(value)


def check_choice(name, value, allowed, owner):
    if value not in allowed:
        raise ValueError(
            f"{owner}: `{name}` must be one of {sorted(map(str, allowed))}, received {value!r}."
        )
    return value
