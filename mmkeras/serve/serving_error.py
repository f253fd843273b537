"""`ServingError`: a request the server answers with an HTTP error status and a message."""


class ServingError(Exception):
    """A request that cannot be served, with the HTTP status to answer it with.

    The server answers `{"error": message}` with `status`, as TensorFlow Serving does; the
    message names the input (and the elements) at fault where there is one.

    Args:
        status: int, the HTTP status (400 bad request, 404 not found, 413 too large, ...).
        message: str, what is wrong, for the client.

    Example:
    >>> raise ServingError(400, "input `image` is missing")
    Traceback (most recent call last):
    ...
    mmkeras.serve.serving_error.ServingError: input `image` is missing
    """

    def __init__(self, status, message):
        super().__init__(message)
        self.status = int(status)
        self.message = str(message)

    def __repr__(self):
        return f"ServingError({self.status}, {self.message!r})"
