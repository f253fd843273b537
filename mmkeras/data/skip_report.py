"""`SkipReport`: the rows one dataset drops, kept up to date while the dataset is read."""

import sys
import threading

from mmkeras.data.data_validation_error import DataValidationError
from mmkeras.data.validation_report import Problem, ValidationReport


class SkipReport:
    """The rows a `Pipeline.dataset()` drops, and why, updated while the dataset is read.

    Rows are dropped in two places: when the dataset is built, by validation (`validation`),
    and while it is read, when a file was changed, deleted or made unreadable after validation
    (found in the graph, in every epoch that reaches the row). The pipeline prints nothing per
    epoch: a training loop reads this report and says what it skipped, once.

    Get one with `ds, skips = pipe.dataset(..., return_report=True)`; `pipe.skipped` is
    `skips.report()` of the last dataset the pipeline built.

    Args:
        validation: `ValidationReport` of the manifest, made when the dataset was built.
        errors: `"skip"` (rows failing at run time are recorded) or `"raise"` (they raise
            `DataValidationError` naming row, file and reason, inside the reading op).
        verbose: print each row that fails at run time once, when the epoch that found it ends.

    Attributes:
        validation: the `ValidationReport` of the rows validation dropped.
        epochs: int, complete passes over the dataset so far.

    Example:
    >>> ds, skips = pipe.dataset("messy.csv", training=True, errors="skip", return_report=True)
    >>> for inputs, labels in ds:  # one epoch, as model.fit(ds) reads it
    ...     pass
    >>> skips.num_skipped  # rows dropped in the last finished epoch
    2
    >>> skips.counts
    {'file_missing': 1, 'text_empty': 1}
    >>> print(skips.report())  # a ValidationReport: rows, files and reasons
    messy.csv: 2 of 6 rows unusable (file_missing=1, text_empty=1).
      file_missing              1  a file named in the manifest does not exist (or was removed)
      text_empty                1  a text is empty or only whitespace
      row 4 [image] file '.../missing.jpg': file_missing - the file does not exist
      row 5 [text]: text_empty - column 'text' is empty
    """

    def __init__(self, validation, errors="skip", verbose=False):
        self.validation = validation
        self.errors = errors
        self.verbose = verbose
        self.epochs = 0
        self._lock = threading.Lock()
        self._running = []  # problems found in the epoch being read
        self._finished = None  # problems found in the last finished epoch
        self._announced = set()

    # === Reading ===

    def report(self):
        """`ValidationReport` of the last finished epoch: validation's rows plus the rows that
        failed while it was read (before the first epoch ends: those found so far)."""
        with self._lock:
            runtime = list(self._running if self._finished is None else self._finished)
        return ValidationReport(
            self.validation.source, self.validation.num_rows, [*self.validation.problems, *runtime]
        )

    @property
    def num_skipped(self):
        """Rows dropped in the last finished epoch (validation and run time together)."""
        return self.report().num_bad_rows

    @property
    def counts(self):
        """`{reason: number of problems}` of the last finished epoch."""
        return self.report().counts

    def summary(self):
        """One line: rows dropped in the last finished epoch, by reason."""
        return self.report().summary()

    def __repr__(self):
        return f"SkipReport(epochs={self.epochs}, {self.summary()!r})"

    # === Called from the dataset's graph ===

    def record(self, row, name, path, reason, detail):
        """Records a row that failed while being read; raises under `errors="raise"`.

        Returns:
            False (the row is filtered out).
        """
        problem = Problem(int(row), name, path, reason, detail)
        if self.errors == "raise":
            raise DataValidationError(
                f"{self.validation.source}: row {problem.row} file {path!r} (input {name!r}): "
                f"{reason} - {detail}. Pass errors='skip' to drop such rows.",
                self.report(),
            )
        with self._lock:
            self._running.append(problem)
        return False

    def start_epoch(self):
        """Opens an epoch: drops what an epoch left unfinished (a `take`, a stopped loop) found."""
        with self._lock:
            self._running = []

    def end_epoch(self):
        """Closes an epoch: its problems become the report; new ones are printed if verbose."""
        with self._lock:
            self._finished, self._running = self._running, []
            self.epochs += 1
            new = [p for p in self._finished if (p.row, p.reason) not in self._announced]
            self._announced.update((p.row, p.reason) for p in new)
        if self.verbose and new:
            first = new[0]
            more = f" (and {len(new) - 1} more)" if len(new) > 1 else ""
            print(
                f"[mmkeras.data] {self.validation.source}: skipped while reading: row {first.row} "
                f"file {first.path!r}: {first.reason} - {first.detail}{more}.",
                file=sys.stderr,
                flush=True,
            )
        return False
