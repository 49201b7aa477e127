"""Times given by users (start/end arguments): one conversion to timezone-aware UTC.

>>> to_utc("2026-03-10", "start").isoformat()
'2026-03-10T00:00:00+00:00'
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from trailkit.errors import InputError


def to_utc(value: str | datetime | date | None, name: str) -> datetime | None:
    """A timezone-aware UTC datetime from a datetime, date or ISO string (naive = UTC).

    ``name`` is the argument's name, used in the error message.

    >>> to_utc("2026-03-10T14:05:00Z", "end").isoformat()
    '2026-03-10T14:05:00+00:00'
    >>> to_utc(None, "end") is None
    True
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise InputError(
                f"{name}={value!r} is not an ISO date or time. Use e.g. '2026-03-10' or "
                f"'2026-03-10T14:00:00Z'."
            ) from exc
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise InputError(f"{name} must be a date, datetime or ISO string, not {type(value).__name__}.")
