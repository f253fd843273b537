"""`DataValidationError`: raised for unusable manifest rows under `errors="raise"`."""


class DataValidationError(ValueError):
    """A manifest row cannot be used; the message names the row, the file and the reason.

    Args:
        message: str.
        report: the `ValidationReport` with every problem found.
    """

    def __init__(self, message, report=None):
        super().__init__(message)
        self.report = report
