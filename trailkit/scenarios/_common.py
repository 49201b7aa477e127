"""Helpers shared by the scenario investigations (not public API).

Everything here works on frames in the normalised schema (:mod:`trailkit.schema`) with
vectorised polars expressions.

>>> import polars as pl
>>> pl.select(as_list_text(pl.lit('{"a": 1}'))).item()
'[{"a": 1}]'
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from trailkit.errors import InputError

S = pl.String

#: columns every scenario needs from the normalised schema.
CORE_COLUMNS = (
    "event_time",
    "event_id",
    "event_name",
    "success",
    "error_code",
    "request_parameters",
    "response_elements",
    "actor",
    "principal_arn",
    "identity_type",
    "access_key_id",
    "aws_region",
    "recipient_account_id",
    "source_ip",
    "user_agent",
)


def require_columns(events: pl.DataFrame, columns: Iterable[str], where: str) -> None:
    """Raise :class:`~trailkit.errors.InputError` unless ``events`` is a frame with ``columns``.

    >>> require_columns(pl.DataFrame({"a": [1]}), ["a"], "demo")
    """
    if isinstance(events, pl.LazyFrame):
        raise InputError(
            f"{where}: got a LazyFrame; these investigations need the events in memory. "
            "Call .collect() on it first, or use trailkit.read_events(...) instead of scan_events(...)."
        )
    if not isinstance(events, pl.DataFrame):
        raise InputError(
            f"{where}: expected a polars DataFrame of events, got {type(events).__name__}. "
            "Load logs with trailkit.read_events(path) or trailkit.normalize_records(records)."
        )
    missing = [c for c in columns if c not in events.columns]
    if missing:
        raise InputError(
            f"{where}: the events frame lacks column(s) {', '.join(missing)}. "
            "Pass the frame returned by trailkit.read_events(...) or trailkit.normalize_records(...), "
            "or run trailkit.schema.conform(df) on it first."
        )


def as_list_text(expr: pl.Expr) -> pl.Expr:
    """JSON text of an object-or-list field as the text of a list (``{...}`` → ``[{...}]``).

    CloudTrail renders some repeated XML elements as a single object when there is one
    item and as a list when there are several; anything that is neither becomes null.

    >>> pl.select(as_list_text(pl.lit('[1, 2]'))).item()
    '[1, 2]'
    """
    t = expr.str.strip_chars()
    return (
        pl.when(t.str.starts_with("["))
        .then(t)
        .when(t.str.starts_with("{"))
        .then(pl.concat_str(pl.lit("["), t, pl.lit("]")))
        .otherwise(None)
    )


def decode(df: pl.DataFrame, column: str, dtype: pl.DataType, alias: str) -> pl.DataFrame:
    """Add ``alias`` = ``column`` (JSON text) decoded to ``dtype``; odd rows become null.

    The vectorised ``str.json_decode`` is strict: one record whose value has an unexpected
    type (an object where a string was expected, say) fails the whole column. In that case
    this falls back to decoding row by row so that only the odd rows become null. The
    fallback only ever runs on the few rows a scenario has already filtered.

    >>> df = pl.DataFrame({"j": ['{"p": 22}', '{"p": {"odd": 1}}']})
    >>> decode(df, "j", pl.Struct({"p": pl.Int64}), "d")["d"].to_list()
    [{'p': 22}, None]
    """
    try:
        return df.with_columns(pl.col(column).str.json_decode(dtype).alias(alias))
    except pl.exceptions.PolarsError:
        pass

    def one(text: str | None):
        if text is None:
            return None
        try:
            return pl.Series([text], dtype=S).str.json_decode(dtype)[0]
        except pl.exceptions.PolarsError:
            return None

    values = [one(t) for t in df[column].to_list()]
    return df.with_columns(pl.Series(alias, values, dtype=dtype))


def end_of_data(events: pl.DataFrame):
    """The latest ``event_time`` in ``events`` (null for an empty frame).

    >>> end_of_data(pl.DataFrame({"event_time": [1, 3, 2]}))
    3
    """
    return events["event_time"].max() if events.height else None


def nonempty(expr: pl.Expr) -> pl.Expr:
    """Empty or all-space strings → null.

    >>> pl.select(nonempty(pl.lit(""))).item() is None
    True
    """
    return pl.when(expr.str.strip_chars() == "").then(None).otherwise(expr)


def jpath(column: str, path: str) -> pl.Expr:
    """``column`` (JSON text) at JSONPath ``path`` as text, empty strings → null. Never raises.

    >>> pl.select(jpath_lit('{"a": {"b": "x"}}', "$.a.b")).item()
    'x'
    """
    return nonempty(pl.col(column).str.json_path_match(path))


def jpath_lit(text: str, path: str) -> pl.Expr:
    """:func:`jpath` on a literal (for examples and tests)."""
    return nonempty(pl.lit(text).str.json_path_match(path))


def to_int(expr: pl.Expr) -> pl.Expr:
    """Text or number → Int64 (``"22"``, ``22``, ``22.0`` → 22; anything else → null).

    >>> pl.select(to_int(pl.lit("22.0"))).item()
    22
    """
    return expr.cast(S).cast(pl.Float64, strict=False).cast(pl.Int64, strict=False)
