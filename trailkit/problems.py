"""What a load skipped or changed: one :class:`Problem` per file or record, gathered in a :class:`LoadReport`.

Loaders never drop data silently: every file or record they could not read in full is
listed here with the path, the record's position, the field, the reason and what was done.

>>> rep = LoadReport()
>>> rep.add(Problem("logs/x.json.gz", "not gzip data", action="skipped file"))
>>> rep.summary()
'1 problem in 1 file: 1 file skipped, 0 records skipped, 0 records kept with a change'
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import polars as pl


class LoadWarning(UserWarning):
    """Warning raised after a load that skipped or changed something; ``.report`` has the details."""

    def __init__(self, message: str, report: LoadReport):
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class Problem:
    """One thing a loader could not take as it was.

    ``record`` is the 0-based position of the record in its file (None for whole-file problems),
    ``field`` the CloudTrail field concerned (None when not about one field), ``action`` what the
    loader did: ``"skipped file"``, ``"skipped record"`` or ``"kept"`` (the record is loaded; the
    named field is null or kept as JSON text).
    """

    path: str
    reason: str
    record: int | None = None
    field: str | None = None
    action: str = "skipped file"

    def __str__(self) -> str:
        where = self.path if self.record is None else f"{self.path} record {self.record}"
        fld = f" field {self.field}" if self.field else ""
        return f"{where}{fld}: {self.reason} ({self.action})"


@dataclass
class LoadReport:
    """Everything a load skipped or changed, plus counts of what it read.

    >>> LoadReport().ok
    True
    """

    problems: list[Problem] = field(default_factory=list)
    files_read: int = 0
    files_skipped_by_filter: int = 0
    events: int = 0
    duplicates_dropped: int = 0
    from_cache: int = 0

    def add(self, problem: Problem) -> None:
        """Record one problem."""
        self.problems.append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        """Record several problems."""
        self.problems.extend(problems)

    def merge(self, other: LoadReport) -> None:
        """Add another report's problems and counts to this one."""
        self.problems.extend(other.problems)
        self.files_read += other.files_read
        self.files_skipped_by_filter += other.files_skipped_by_filter
        self.events += other.events
        self.duplicates_dropped += other.duplicates_dropped
        self.from_cache += other.from_cache

    @property
    def ok(self) -> bool:
        """True when nothing was skipped or changed."""
        return not self.problems

    @property
    def skipped_files(self) -> list[str]:
        """Paths of the files skipped whole."""
        return sorted({p.path for p in self.problems if p.action == "skipped file"})

    def summary(self) -> str:
        """One line: how many problems, files and records."""
        files = {p.path for p in self.problems}
        n_files = sum(1 for p in self.problems if p.action == "skipped file")
        n_rec = sum(1 for p in self.problems if p.action == "skipped record")
        n_kept = sum(1 for p in self.problems if p.action == "kept")
        s = "" if len(self.problems) == 1 else "s"
        fs = "" if len(files) == 1 else "s"
        return (
            f"{len(self.problems)} problem{s} in {len(files)} file{fs}: "
            f"{n_files} file{'s' if n_files != 1 else ''} skipped, {n_rec} records skipped, "
            f"{n_kept} records kept with a change"
        )

    def to_frame(self) -> pl.DataFrame:
        """The problems as a polars DataFrame (path, record, field, reason, action)."""
        schema = {
            "path": pl.String,
            "record": pl.Int64,
            "field": pl.String,
            "reason": pl.String,
            "action": pl.String,
        }
        rows = [asdict(p) for p in self.problems]
        return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)

    def text(self, limit: int | None = 20) -> str:
        """The summary followed by one line per problem (at most ``limit``)."""
        lines = [self.summary()]
        shown = self.problems if limit is None else self.problems[:limit]
        lines += [f"  - {p}" for p in shown]
        if limit is not None and len(self.problems) > limit:
            lines.append(f"  ... and {len(self.problems) - limit} more (report.to_frame() has them all)")
        return "\n".join(lines)

    def warn(self, stacklevel: int = 3) -> None:
        """Emit a :class:`LoadWarning` summarising the problems (nothing when there are none)."""
        if self.problems:
            warnings.warn(LoadWarning(self.text(limit=5), self), stacklevel=stacklevel)
