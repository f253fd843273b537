"""`ValidationReport`: the rows of a manifest that cannot be used, and why."""

import collections

Problem = collections.namedtuple("Problem", ["row", "input", "path", "reason", "detail"])

REASONS = {
    "value_missing": "an input or target cell is empty",
    "file_missing": "a file named in the manifest does not exist (or was removed)",
    "file_unreadable": "a file exists but cannot be read",
    "file_changed": "a file changed after validation",
    "path_outside_root": "a file's real path leaves the root (confine_paths=True)",
    "image_corrupt": "an image is not JPEG/PNG/GIF/BMP, or is damaged or truncated",
    "image_too_large": "an image's header gives more pixels than the spec's max_pixels",
    "audio_corrupt": "a WAV file is not RIFF/WAVE or is damaged",
    "audio_not_pcm16": "a WAV file is not 16-bit PCM",
    "audio_truncated": "a WAV file's data is shorter than its header says",
    "audio_too_long": "a WAV file is longer than the spec's max_duration",
    "text_empty": "a text is empty or only whitespace",
    "text_not_utf8": "a text is not valid UTF-8",
    "tabular_not_finite": "a tabular value is NaN or infinite",
    "tabular_not_numeric": "a tabular value is not a number",
    "label_unknown": "a label is not in the pipeline's label index",
    "label_invalid": "a regression target is not a finite number or has the wrong length",
}


class ValidationReport:
    """Rows of a manifest that cannot be used, each with its row number, file and reason.

    `row` is the 0-based index of the record in the manifest (for a CSV file: the data line,
    not counting the header). A row may have several problems; it is counted once in
    `num_bad_rows` and once per problem in `counts`.

    Args:
        source: str, where the rows came from (file path or a description).
        num_rows: int, rows examined.
        problems: list of `Problem(row, input, path, reason, detail)`.

    Example:
    >>> report = pipe.validate("messy.csv")
    >>> print(report)  # a table of counts by reason, then the first problems
    messy.csv: 2 of 6 rows unusable (file_missing=1, text_empty=1).
      file_missing              1  a file named in the manifest does not exist (or was removed)
      text_empty                1  a text is empty or only whitespace
      row 4 [image] file '.../missing.jpg': file_missing - the file does not exist
      row 5 [text]: text_empty - column 'text' is empty
    >>> report.counts
    {'file_missing': 1, 'text_empty': 1}
    >>> report.bad_rows
    [4, 5]
    """

    def __init__(self, source, num_rows, problems=()):
        self.source = source
        self.num_rows = num_rows
        self.problems = sorted(problems, key=lambda p: (p.row, str(p.input)))

    @property
    def bad_rows(self):
        """Sorted row numbers with at least one problem."""
        return sorted({p.row for p in self.problems})

    @property
    def num_bad_rows(self):
        return len(self.bad_rows)

    @property
    def num_good_rows(self):
        return self.num_rows - self.num_bad_rows

    @property
    def counts(self):
        """`{reason: number of problems}`, most frequent first."""
        counter = collections.Counter(p.reason for p in self.problems)
        return dict(counter.most_common())

    @property
    def ok(self):
        return not self.problems

    def __len__(self):
        return len(self.problems)

    def for_row(self, row):
        return [p for p in self.problems if p.row == row]

    def to_dict(self):
        return {
            "source": self.source,
            "num_rows": self.num_rows,
            "num_bad_rows": self.num_bad_rows,
            "counts": self.counts,
            "problems": [p._asdict() for p in self.problems],
        }

    def summary(self):
        """One line: how many rows are unusable, by reason."""
        if self.ok:
            return f"{self.source}: all {self.num_rows} rows are usable."
        reasons = ", ".join(f"{reason}={n}" for reason, n in self.counts.items())
        return f"{self.source}: {self.num_bad_rows} of {self.num_rows} rows unusable ({reasons})."

    def __str__(self, max_problems=20):
        lines = [self.summary()]
        for reason, n in self.counts.items():
            lines.append(f"  {reason:<20} {n:>6}  {REASONS.get(reason, '')}")
        for p in self.problems[:max_problems]:
            where = f" file {p.path!r}" if p.path else ""
            lines.append(f"  row {p.row} [{p.input}]{where}: {p.reason} - {p.detail}")
        if len(self.problems) > max_problems:
            lines.append(f"  ... {len(self.problems) - max_problems} more")
        return "\n".join(lines)

    def __repr__(self):
        return f"ValidationReport({self.summary()!r})"
