"""`ConfigError`: every problem of a configuration, one line each."""

import difflib


def did_you_mean(value, allowed):
    """Returns `"; did you mean 'x'?"` for the closest allowed string, or `""` when none is close."""
    if not isinstance(value, str):
        return ""
    matches = difflib.get_close_matches(value, [str(a) for a in allowed], n=1, cutoff=0.6)
    return f"; did you mean {matches[0]!r}?" if matches else ""


class ConfigError(ValueError):
    """A configuration that cannot be used: lists every problem found, one line each.

    Each problem names the key path (`model.fusion`), the value received and what is allowed, and
    suggests the closest allowed name when a key or choice looks like a typo.

    Args:
        problems: list of one-line strings.
        source: optional name of the file the configuration came from.

    Example:
    >>> text = open("run.yaml").read().replace("fusion: attention", "fusion: atention")
    >>> try:
    ...     mmkeras.config.loads(text)
    ... except mmkeras.config.ConfigError as e:
    ...     print(e.problems)
    ["model.fusion: 'atention' is not allowed; allowed: 'concat', ...; did you mean 'attention'?"]
    """

    def __init__(self, problems, source=None):
        self.problems = list(problems)
        self.source = source
        where = f" in {source}" if source else ""
        count = len(self.problems)
        header = f"{count} problem{'s' if count != 1 else ''} in the configuration{where}:"
        super().__init__("\n".join([header, *(f"  {p}" for p in self.problems)]))
