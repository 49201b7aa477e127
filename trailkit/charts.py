"""Charts of CloudTrail activity (altair), drawn from frames that are already loaded.

Every function here takes a polars frame, aggregates it with polars first and hands altair
a few hundred rows at most, so any number of events draws without altair's 5,000-row
``MaxRowsError``. No function loads data. Text that came from the logs (actor names, event
names, user agents) is cleaned and shortened before it reaches a label or a tooltip; the
notebook renderer (:func:`trailkit.display.setup_notebook`) also escapes tooltips.

Times are drawn in UTC.

- :func:`chart_timeline` — activity per actor over time, with the incident highlighted.
- :func:`chart_heatmap` — activity by hour of day and day.
- :func:`chart_exposure` — how long each world-open security-group rule stayed open.
- :func:`chart_launches` — instances launched and estimated cost per principal per day.
- :func:`chart_bucket_history` — one bucket's life: who did what to it, and when.
- :func:`chart_policy_what_if` — launches a policy would have allowed or denied.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timezone
>>> t = datetime(2026, 3, 10, 14, tzinfo=timezone.utc)
>>> df = pl.DataFrame({"event_time": [t, t], "actor": ["alice", "bob"],
...                    "event_name": ["ListBuckets", "DeleteBucket"]})
>>> chart = chart_timeline(df, highlight=df.filter(pl.col("event_name") == "DeleteBucket"))
>>> chart.to_dict()["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
True
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import polars as pl

from trailkit.errors import InputError, require

#: most rows any single dataset in a chart may have (altair refuses more than 5,000).
MAX_CHART_ROWS = 4_000

#: at most this many time bins across a timeline
MAX_BINS = 240

_EVERY = [
    ("1m", timedelta(minutes=1)),
    ("5m", timedelta(minutes=5)),
    ("15m", timedelta(minutes=15)),
    ("30m", timedelta(minutes=30)),
    ("1h", timedelta(hours=1)),
    ("3h", timedelta(hours=3)),
    ("6h", timedelta(hours=6)),
    ("12h", timedelta(hours=12)),
    ("1d", timedelta(days=1)),
    ("1w", timedelta(weeks=1)),
    ("1mo", timedelta(days=31)),
]
_EVERY_WORDS = {
    "1m": "minute",
    "5m": "5 minutes",
    "15m": "15 minutes",
    "30m": "30 minutes",
    "1h": "hour",
    "3h": "3 hours",
    "6h": "6 hours",
    "12h": "12 hours",
    "1d": "day",
    "1w": "week",
    "1mo": "month",
}

INCIDENT_COLOR = "#d62728"
QUIET_COLOR = "#4c78a8"
_WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


# -- helpers ----------------------------------------------------------------------------------


def _alt():
    return require("altair", "notebooks")


def _need(df: Any, columns: Sequence[str], where: str) -> pl.DataFrame:
    if isinstance(df, pl.LazyFrame):
        raise InputError(
            f"{where}: got a LazyFrame; charts draw frames that are already loaded. "
            "Call .collect() first (charts aggregate it, so any size is fine)."
        )
    if not isinstance(df, pl.DataFrame):
        raise InputError(
            f"{where}: expected a polars DataFrame, got {type(df).__name__}. "
            "Load events with trailkit.read_events(path) first."
        )
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            f"{where}: the frame lacks column(s) {', '.join(missing)} (it has "
            f"{', '.join(df.columns[:12])}{'…' if len(df.columns) > 12 else ''}). "
            "Pass the frame from trailkit.read_events(...) or the scenario function's result."
        )
    return df


def safe_label(expr: pl.Expr, max_chars: int = 60) -> pl.Expr:
    """Log text made fit for a chart label or tooltip: one line, control characters removed,
    at most ``max_chars`` characters, null shown as ``(none)``.

    Examples
    --------
    >>> pl.select(safe_label(pl.lit("a\\nb" + "x" * 100), 5)).item()
    'a bx…'
    """
    text = (
        expr.cast(pl.String)
        .str.replace_all(r"[\r\n\t]+", " ")
        .str.replace_all(r"[\x00-\x1f\x7f\u2028\u2029]", "")
    )
    cut = (
        pl.when(text.str.len_chars() > max_chars)
        .then(text.str.slice(0, max_chars - 1) + pl.lit("…"))
        .otherwise(text)
    )
    return cut.fill_null("(none)")


def _labels(values: Sequence[Any]) -> list[str]:
    """:func:`safe_label` applied to a Python list (for sort orders)."""
    if not values:
        return []
    frame = pl.DataFrame(
        {"v": [None if v is None else str(v) for v in values]}, schema={"v": pl.String}
    )
    return frame.select(safe_label(pl.col("v")))["v"].to_list()


def _when(expr: pl.Expr) -> pl.Expr:
    """UTC datetime → readable text for tooltips (kept apart from the axis field, which Vega
    parses as a date and would show as a number in a tooltip)."""
    return expr.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S UTC")


def _iso(expr: pl.Expr) -> pl.Expr:
    """UTC datetime → ISO text with Z, which Vega parses as UTC in every browser."""
    return expr.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ensure_utc(df: pl.DataFrame, column: str) -> pl.DataFrame:
    dtype = df.schema[column]
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return df.with_columns(pl.col(column).dt.replace_time_zone("UTC"))
        return df
    if dtype == pl.String:
        return df.with_columns(pl.col(column).str.to_datetime(time_zone="UTC", strict=False))
    if dtype == pl.Date:
        return df.with_columns(pl.col(column).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
    raise InputError(f"column {column!r} must hold datetimes, got {dtype}.")


def choose_every(start: datetime | None, end: datetime | None, max_bins: int = MAX_BINS) -> str:
    """The smallest time bucket that splits ``start``…``end`` into at most ``max_bins`` bins.

    Examples
    --------
    >>> from datetime import datetime
    >>> choose_every(datetime(2026, 1, 1), datetime(2026, 1, 2))
    '15m'
    >>> choose_every(datetime(2026, 1, 1), datetime(2026, 3, 1))
    '6h'
    """
    if start is None or end is None:
        return "1h"
    span = max(end - start, timedelta(minutes=1))
    for every, step in _EVERY:
        if span / step <= max_bins:
            return every
    return "1mo"


def _width(width: int | None) -> int:
    return 640 if width is None else int(width)


def _x_time(alt, field: str, title: str = "time (UTC)", **kwargs):
    return alt.X(
        f"{field}:T",
        title=title,
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(labelAngle=0, labelOverlap=True),
        **kwargs,
    )


def _empty_chart(message: str, width: int | None = None):
    alt = _alt()
    data = pl.DataFrame({"message": [message]})
    return (
        alt.Chart(data)
        .mark_text(fontSize=14, color="#666")
        .encode(text="message:N")
        .properties(width=_width(width), height=60, title=message)
    )


# -- timeline ---------------------------------------------------------------------------------


def activity_by_actor(
    events: pl.DataFrame,
    *,
    every: str | None = None,
    top: int = 12,
    keep: Sequence[str] = (),
) -> pl.DataFrame:
    """Count events per actor and time bucket (the data of :func:`chart_timeline`).

    Actors beyond the ``top`` busiest (other than those in ``keep``) are folded into one row
    ``"(N other actors)"``.

    Parameters
    ----------
    events
        Normalised events (``event_time``, ``actor``; ``event_name`` and ``success`` if present).
    every
        Bucket size as a polars duration ("5m", "1h", "1d"); default from the time span.
    top
        How many actors get their own row.
    keep
        Actors that always get their own row (for example the ones in the incident).

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 10, 14, 7, tzinfo=timezone.utc)
    >>> activity_by_actor(pl.DataFrame({"event_time": [t, t], "actor": ["a", "a"]}),
    ...                   every="1h")["events"].to_list()
    [2]
    """
    df = _need(events, ["event_time", "actor"], "activity_by_actor")
    df = _ensure_utc(df, "event_time")
    if every is None:
        every = choose_every(df["event_time"].min(), df["event_time"].max())
    busiest = (
        df.group_by("actor").len().sort(["len", "actor"], descending=[True, False], nulls_last=True)
    )
    kept = set(busiest["actor"].head(top).to_list()) | set(keep)
    others = busiest.filter(~pl.col("actor").is_in(list(kept)) | pl.col("actor").is_null())
    n_other = others.height - int(others["actor"].null_count() > 0 and None in kept)
    other_label = f"({n_other} other actor{'s' if n_other != 1 else ''})"
    has_name = "event_name" in df.columns
    has_success = "success" in df.columns
    out = (
        df.lazy()
        .select(
            pl.col("event_time").dt.truncate(every).alias("bucket"),
            pl.when(pl.col("actor").is_in(list(kept - {None})))
            .then(pl.col("actor"))
            .when(pl.col("actor").is_null())
            .then(pl.lit("(unknown actor)"))
            .otherwise(pl.lit(other_label))
            .alias("actor"),
            (pl.col("event_name") if has_name else pl.lit(None, pl.String)).alias("event_name"),
            ((~pl.col("success").fill_null(True)) if has_success else pl.lit(False)).alias(
                "failed"
            ),
        )
        .group_by("actor", "bucket")
        .agg(
            pl.len().alias("events"),
            pl.col("failed").sum().cast(pl.Int64).alias("failed"),
            pl.col("event_name")
            .drop_nulls()
            .unique()
            .sort()
            .head(5)
            .str.join(", ")
            .alias("event_names"),
            pl.col("event_name").n_unique().alias("n_names"),
        )
        .sort("bucket", "actor")
        .collect()
    )
    return out


def chart_timeline(
    events: pl.DataFrame,
    *,
    highlight: pl.DataFrame | None = None,
    window: tuple[datetime, datetime] | None = None,
    every: str | None = None,
    top: int = 12,
    title: str | None = None,
    width: int | None = None,
):
    """Activity timeline per actor, with the incident highlighted.

    Each row is an actor; each coloured block is a time bucket, darker the more calls the
    actor made in it (the tooltip gives calls, failed calls and event names). Events in
    ``highlight`` are drawn as red diamonds labelled with their event name, their actors come
    first, and ``window`` is shaded.

    Parameters
    ----------
    events
        Normalised events: ``event_time`` and ``actor`` (``event_name``, ``success`` used
        when present). Any size: the frame is aggregated first.
    highlight
        The incident's events (a filtered frame with ``event_time``, ``actor``,
        ``event_name``); their actors always get a row.
    window
        A (start, end) period to shade, for example an exposure window.
    every
        Time bucket ("5m", "1h", "1d"); default chosen from the span.
    top
        How many of the busiest actors get their own row.
    title, width
        Chart title and width in pixels.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 10, 14, tzinfo=timezone.utc)
    >>> df = pl.DataFrame({"event_time": [t], "actor": ["alice"], "event_name": ["GetObject"]})
    >>> spec = chart_timeline(df).to_dict()
    >>> len(spec["layer"])
    1
    """
    alt = _alt()
    df = _need(events, ["event_time", "actor"], "chart_timeline")
    if df.height == 0:
        return _empty_chart("no events in this selection", width)
    df = _ensure_utc(df, "event_time")
    hl = None
    if highlight is not None and highlight.height:
        hl = _ensure_utc(
            _need(highlight, ["event_time", "actor"], "chart_timeline(highlight=)"), "event_time"
        )
    start, end = df["event_time"].min(), df["event_time"].max()
    if hl is not None:
        start, end = min(start, hl["event_time"].min()), max(end, hl["event_time"].max())
    every = every or choose_every(start, end)
    keep = [] if hl is None else hl["actor"].drop_nulls().unique().to_list()
    counts = activity_by_actor(df, every=every, top=top, keep=keep)
    if counts.height > MAX_CHART_ROWS:  # too many actors × buckets: coarser buckets
        coarser = [e for e, _ in _EVERY][[e for e, _ in _EVERY].index(every) + 1 :]
        for every in coarser:
            counts = activity_by_actor(df, every=every, top=top, keep=keep)
            if counts.height <= MAX_CHART_ROWS:
                break
    data = counts.select(
        safe_label(pl.col("actor")).alias("actor"),
        _iso(pl.col("bucket")).alias("time"),
        _iso(pl.col("bucket").dt.offset_by(every)).alias("time_end"),
        _when(pl.col("bucket")).alias("when"),
        "events",
        "failed",
        safe_label(pl.col("event_names"), 80).alias("calls"),
        "n_names",
    )
    totals = data.group_by("actor").agg(pl.col("events").sum())
    first_labels = _labels(keep)
    order = (
        totals.with_columns(
            pl.when(pl.col("actor").is_in(list(first_labels)))
            .then(0)
            .when(pl.col("actor").str.starts_with("("))
            .then(2)
            .otherwise(1)
            .alias("group")
        )
        .sort(["group", "events", "actor"], descending=[False, True, False])["actor"]
        .to_list()
    )
    height = max(120, 22 * len(order))
    y = alt.Y("actor:N", sort=order, title=None, axis=alt.Axis(labelLimit=260))
    strips = (
        alt.Chart(data)
        .mark_rect(height={"band": 0.7})
        .encode(
            x=_x_time(alt, "time"),
            x2="time_end:T",
            y=y,
            color=alt.Color(
                "events:Q",
                title="calls",
                scale=alt.Scale(scheme="blues", type="sqrt", zero=True, domainMin=0),
                legend=alt.Legend(orient="right"),
            ),
            tooltip=[
                alt.Tooltip("actor:N"),
                alt.Tooltip("when:N", title=f"{_EVERY_WORDS.get(every, every)} from"),
                alt.Tooltip("events:Q", title="calls"),
                alt.Tooltip("failed:Q", title="failed calls"),
                alt.Tooltip("calls:N", title="event names (first 5)"),
            ],
        )
    )
    layers = []
    if window is not None:
        w0, w1 = window
        shade = (
            pl.DataFrame({"start": [w0], "end": [w1]})
            .with_columns(
                pl.col("start").cast(pl.Datetime("us", "UTC")),
                pl.col("end").cast(pl.Datetime("us", "UTC")),
            )
            .select(_iso(pl.col("start")).alias("start"), _iso(pl.col("end")).alias("end"))
        )
        layers.append(
            alt.Chart(shade)
            .mark_rect(color=INCIDENT_COLOR, opacity=0.12)
            .encode(x=_x_time(alt, "start"), x2="end:T")
        )
    layers.append(strips)
    if hl is not None:
        marks = (
            hl.sort("event_time")
            .head(200)
            .select(
                safe_label(pl.col("actor")).alias("actor"),
                _iso(pl.col("event_time")).alias("time"),
                _when(pl.col("event_time")).alias("when"),
                safe_label(
                    pl.col("event_name") if "event_name" in hl.columns else pl.lit("incident"), 40
                ).alias("event"),
            )
        )
        base = alt.Chart(marks).encode(x=_x_time(alt, "time"), y=y)
        layers.append(
            base.mark_point(
                shape="diamond", size=220, filled=True, color=INCIDENT_COLOR, opacity=0.95
            ).encode(
                tooltip=[
                    alt.Tooltip("event:N", title="incident event"),
                    alt.Tooltip("actor:N"),
                    alt.Tooltip("when:N", title="time"),
                ]
            )
        )
        layers.append(
            base.mark_text(
                align="left", dx=9, dy=-9, color=INCIDENT_COLOR, fontWeight="bold", fontSize=11
            ).encode(text="event:N")
        )
    chart = alt.layer(*layers).properties(
        width=_width(width),
        height=height,
        title=alt.TitleParams(
            title or "Activity per actor",
            subtitle=f"colour = calls per {_EVERY_WORDS.get(every, every)}"
            + ("; red diamonds = the incident" if hl is not None else "")
            + ("; shaded = window" if window is not None else ""),
        ),
    )
    return chart


# -- heat map ---------------------------------------------------------------------------------


def activity_by_hour(
    events: pl.DataFrame, *, day: Literal["auto", "date", "weekday"] = "auto"
) -> pl.DataFrame:
    """Count events per hour of day (UTC) and day: the data of :func:`chart_heatmap`.

    ``day="date"`` gives one row per calendar date, ``"weekday"`` folds the dates into
    Monday…Sunday, ``"auto"`` uses dates when there are at most 62 of them.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 10, 14, tzinfo=timezone.utc)
    >>> activity_by_hour(pl.DataFrame({"event_time": [t, t], "actor": ["a", "b"]}))[
    ...     ["day", "hour", "events", "actors"]].row(0)
    ('2026-03-10 Tue', 14, 2, 2)
    """
    df = _ensure_utc(_need(events, ["event_time"], "activity_by_hour"), "event_time")
    if day == "auto":
        n_dates = df.select(pl.col("event_time").dt.date().n_unique()).item()
        day = "date" if n_dates <= 62 else "weekday"
    if day not in ("date", "weekday"):
        raise InputError(f"activity_by_hour(day={day!r}): use 'auto', 'date' or 'weekday'.")
    t = pl.col("event_time")
    if day == "date":
        day_expr = t.dt.strftime("%Y-%m-%d %a")
        order_expr = t.dt.date().cast(pl.Int32)
    else:
        day_expr = t.dt.strftime("%a")
        order_expr = t.dt.weekday().cast(pl.Int32)
    actor = pl.col("actor") if "actor" in df.columns else pl.lit(None, pl.String)
    return (
        df.lazy()
        .select(
            day_expr.alias("day"),
            order_expr.alias("order"),
            t.dt.hour().cast(pl.Int32).alias("hour"),
            actor.alias("actor"),
        )
        .group_by("day", "order", "hour")
        .agg(pl.len().alias("events"), pl.col("actor").n_unique().alias("actors"))
        .sort("order", "hour")
        .collect()
    )


def chart_heatmap(
    events: pl.DataFrame,
    *,
    day: Literal["auto", "date", "weekday"] = "auto",
    title: str | None = None,
    width: int | None = None,
):
    """Heat map of activity by hour of day (UTC) and day: spot work at odd hours.

    Parameters
    ----------
    events
        Normalised events (``event_time``; ``actor`` counted when present). Any size.
    day
        "date", "weekday" or "auto" (dates when there are at most 62).
    title, width
        Chart title and width in pixels.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 10, 14, tzinfo=timezone.utc)
    >>> chart_heatmap(pl.DataFrame({"event_time": [t]})).to_dict()["mark"]["type"]
    'rect'
    """
    alt = _alt()
    df = _need(events, ["event_time"], "chart_heatmap")
    if df.height == 0:
        return _empty_chart("no events in this selection", width)
    data = activity_by_hour(df, day=day)
    order = data.unique("day").sort("order")["day"].to_list()
    return (
        alt.Chart(data)
        .mark_rect()
        .encode(
            x=alt.X(
                "hour:O",
                title="hour of day (UTC)",
                scale=alt.Scale(domain=list(range(24))),
                axis=alt.Axis(labelAngle=0),
            ),
            y=alt.Y("day:O", sort=order, title=None),
            color=alt.Color(
                "events:Q", title="calls", scale=alt.Scale(scheme="blues", type="sqrt", zero=True)
            ),
            tooltip=[
                alt.Tooltip("day:N"),
                alt.Tooltip("hour:O", title="hour (UTC)"),
                alt.Tooltip("events:Q", title="calls"),
                alt.Tooltip("actors:Q", title="distinct actors"),
            ],
        )
        .properties(
            width=_width(width),
            height=max(80, min(18 * len(order), 900)),
            title=title or "Activity by hour and day",
        )
    )


# -- scenario charts ----------------------------------------------------------------------------


def _human(seconds: pl.Expr) -> pl.Expr:
    """Seconds → "3d 4h", "5h 12m", "7m", "42s"."""
    s = seconds.cast(pl.Int64)
    d, h, m = s // 86400, (s % 86400) // 3600, (s % 3600) // 60
    return (
        pl.when(s >= 86400)
        .then(pl.format("{}d {}h", d, h))
        .when(s >= 3600)
        .then(pl.format("{}h {}m", h, m))
        .when(s >= 60)
        .then(pl.format("{}m", m))
        .otherwise(pl.format("{}s", s))
    )


def chart_exposure(
    rules: pl.DataFrame,
    *,
    top: int = 40,
    title: str | None = None,
    width: int | None = None,
):
    """The exposure window of each world-open security-group rule: opened → closed.

    One bar per rule from ``trailkit.open_ingress(...)``: red while it stayed open to the end
    of the loaded logs, orange when it was revoked. Failed attempts are left out (they never
    opened anything). The longest ``top`` exposures are drawn.

    Parameters
    ----------
    rules
        The frame returned by :func:`trailkit.open_ingress` (``event_time``, ``group_id``,
        ``exposure_seconds``, ``still_open``; ``cidr``, ``ports_exposed``, ``protocol``,
        ``actor``, ``revoked_by`` used when present).
    top
        How many rules to draw at most (longest exposure first).
    title, width
        Chart title and width in pixels.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 10, 9, tzinfo=timezone.utc)
    >>> rules = pl.DataFrame({"event_time": [t], "group_id": ["sg-1"], "cidr": ["0.0.0.0/0"],
    ...     "ports_exposed": [[22]], "exposure_seconds": [3600.0], "still_open": [False],
    ...     "success": [True], "actor": ["alice"], "revoked_by": ["bob"]})
    >>> chart_exposure(rules).to_dict()["layer"][0]["mark"]["type"]
    'bar'
    """
    alt = _alt()
    df = _need(
        rules, ["event_time", "group_id", "exposure_seconds", "still_open"], "chart_exposure"
    )
    if "success" in df.columns:
        df = df.filter(pl.col("success").fill_null(True))
    df = df.filter(pl.col("exposure_seconds").is_not_null())
    if df.height == 0:
        return _empty_chart("no rule was opened to the world in these logs", width)
    df = _ensure_utc(df, "event_time")

    def col(name: str, default: Any = None) -> pl.Expr:
        return pl.col(name) if name in df.columns else pl.lit(default, pl.String)

    ports = (
        pl.col("ports_exposed").cast(pl.List(pl.String)).list.join(",")
        if "ports_exposed" in df.columns
        else pl.lit("?")
    )
    person = col("session_started_by")
    data = (
        df.sort("exposure_seconds", descending=True)
        .head(top)
        .with_columns(
            (
                pl.col("event_time")
                + pl.duration(microseconds=(pl.col("exposure_seconds") * 1e6).cast(pl.Int64))
            ).alias("_end")
        )
        .select(
            safe_label(
                pl.format("{} port {} from {}", pl.col("group_id"), ports, col("cidr", "?")), 70
            ).alias("rule"),
            _iso(pl.col("event_time")).alias("opened"),
            _iso(pl.col("_end")).alias("until"),
            _when(pl.col("event_time")).alias("opened_at"),
            _when(pl.col("_end")).alias("until_at"),
            pl.when(pl.col("still_open"))
            .then(pl.lit("still open at end of logs"))
            .otherwise(pl.lit("revoked"))
            .alias("state"),
            safe_label(col("actor")).alias("opened_by"),
            safe_label(pl.coalesce(person, col("actor"))).alias("person"),
            safe_label(col("revoked_by")).alias("revoked_by"),
            _human(pl.col("exposure_seconds")).alias("exposed_for"),
        )
    )
    order = data["rule"].to_list()
    y = alt.Y("rule:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    # pad the time axis so that a rule open for a minute at the edge still shows
    lo = pl.Series(data["opened"]).str.to_datetime(time_zone="UTC").min()
    hi = pl.Series(data["until"]).str.to_datetime(time_zone="UTC").max()
    pad = max((hi - lo) * 0.04, timedelta(minutes=5))
    domain = [
        (lo - pad).strftime("%Y-%m-%dT%H:%M:%SZ"),
        (hi + pad * 3).strftime("%Y-%m-%dT%H:%M:%SZ"),
    ]
    base = alt.Chart(data).encode(y=y)
    bars = base.mark_bar(height={"band": 0.6}, clip=True).encode(
        x=alt.X(
            "opened:T",
            title="time (UTC)",
            scale=alt.Scale(type="utc", domain=domain),
            axis=alt.Axis(labelAngle=0, labelOverlap=True),
        ),
        x2="until:T",
        color=alt.Color(
            "state:N",
            title=None,
            scale=alt.Scale(
                domain=["still open at end of logs", "revoked"], range=[INCIDENT_COLOR, "#f58518"]
            ),
            legend=alt.Legend(orient="top"),
        ),
        tooltip=[
            alt.Tooltip("rule:N"),
            alt.Tooltip("opened_at:N", title="opened"),
            alt.Tooltip("opened_by:N", title="opened by"),
            alt.Tooltip("person:N", title="person behind it"),
            alt.Tooltip("state:N"),
            alt.Tooltip("until_at:N", title="until"),
            alt.Tooltip("revoked_by:N", title="revoked by"),
            alt.Tooltip("exposed_for:N", title="exposed for"),
        ],
    )
    opened = base.mark_tick(color="black", thickness=2, size=14).encode(x=_x_time(alt, "opened"))
    label = base.mark_text(align="left", dx=4, fontSize=11, color="#333").encode(
        x=alt.X("until:T"), text="exposed_for:N"
    )
    return alt.layer(bars, opened, label).properties(
        width=_width(width),
        height=max(60, 28 * len(order)),
        title=alt.TitleParams(
            title or "How long each rule was open to the world",
            subtitle="black tick = opened; bar = exposure window; label = how long",
        ),
    )


def chart_bucket_history(
    history: pl.DataFrame,
    *,
    title: str | None = None,
    width: int | None = None,
):
    """One row per bucket: every access change and the deletion, in time.

    Draws the frame returned by :func:`trailkit.who_deleted_bucket`: red = deletion,
    orange = a change that opened public access, grey cross = a failed call, blue = other
    changes. Tooltips name the change, the caller and the person behind the session.

    Parameters
    ----------
    history
        ``who_deleted_bucket(...)`` output (``event_time``, ``bucket``, ``event_name``;
        ``change``, ``success``, ``opens_public_access``, ``actor``, ``session_started_by``
        used when present).
    title, width
        Chart title and width in pixels.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 10, 9, tzinfo=timezone.utc)
    >>> h = pl.DataFrame({"event_time": [t], "bucket": ["b"], "event_name": ["DeleteBucket"]})
    >>> chart_bucket_history(h).to_dict()["vconcat"][0]["layer"][0]["mark"]["type"]
    'point'
    """
    alt = _alt()
    df = _need(history, ["event_time", "bucket", "event_name"], "chart_bucket_history")
    if df.height == 0:
        return _empty_chart("no bucket deletion or access change in these logs", width)
    df = _ensure_utc(df, "event_time")

    def col(name: str, default: Any = None) -> pl.Expr:
        return pl.col(name) if name in df.columns else pl.lit(default)

    ok = col("success", True).fill_null(True)
    kind = (
        pl.when(~ok)
        .then(pl.lit("failed call"))
        .when(pl.col("event_name") == "DeleteBucket")
        .then(pl.lit("bucket deleted"))
        .when(col("opens_public_access", False).fill_null(False))
        .then(pl.lit("opened public access"))
        .otherwise(pl.lit("other change"))
    )
    buckets = df["bucket"].drop_nulls().unique()
    if buckets.len() > 30:  # keep the 30 buckets with the most events
        keep = df.group_by("bucket").len().sort("len", descending=True).head(30)["bucket"]
        df = df.filter(pl.col("bucket").is_in(keep.implode()))
    data = (
        df.sort("event_time")
        .tail(MAX_CHART_ROWS)
        .select(
            safe_label(pl.col("bucket")).alias("bucket"),
            _iso(pl.col("event_time")).alias("time"),
            _when(pl.col("event_time")).alias("when"),
            safe_label(pl.col("event_name"), 40).alias("event"),
            safe_label(col("change", None), 90).alias("change"),
            kind.alias("kind"),
            safe_label(col("actor", None)).alias("caller"),
            safe_label(pl.coalesce(col("session_started_by", None), col("actor", None))).alias(
                "person"
            ),
        )
    )
    order = data.unique("bucket", keep="first", maintain_order=True)["bucket"].to_list()
    kinds = ["bucket deleted", "opened public access", "other change", "failed call"]
    color = alt.Color(
        "kind:N",
        title=None,
        scale=alt.Scale(domain=kinds, range=[INCIDENT_COLOR, "#f58518", QUIET_COLOR, "#9e9e9e"]),
        legend=alt.Legend(orient="top"),
    )
    shape = alt.Shape(
        "kind:N",
        scale=alt.Scale(domain=kinds, range=["diamond", "triangle-up", "circle", "cross"]),
        legend=None,
    )
    tooltip = [
        alt.Tooltip("bucket:N"),
        alt.Tooltip("when:N", title="time"),
        alt.Tooltip("event:N"),
        alt.Tooltip("change:N"),
        alt.Tooltip("caller:N"),
        alt.Tooltip("person:N", title="person behind it"),
    ]
    rows = []
    for name in order:  # one row per bucket, each with its own time axis
        part = data.filter(pl.col("bucket") == name)
        times = part["time"].str.to_datetime(time_zone="UTC")
        lo, hi = times.min(), times.max()
        pad = max((hi - lo) * 0.08, timedelta(minutes=2))
        domain = [
            (lo - pad).strftime("%Y-%m-%dT%H:%M:%SZ"),
            (hi + pad).strftime("%Y-%m-%dT%H:%M:%SZ"),
        ]
        base = alt.Chart(part).encode(
            x=alt.X(
                "time:T",
                title=None,
                scale=alt.Scale(type="utc", domain=domain),
                axis=alt.Axis(labelAngle=0, labelOverlap=True),
            ),
            y=alt.Y("bucket:N", title=None, axis=alt.Axis(labelLimit=260)),
        )
        layers = [
            base.mark_point(size=160, filled=True, opacity=0.9).encode(
                color=color, shape=shape, tooltip=tooltip
            )
        ]
        if part.height <= 40:  # name the deletions and the changes that opened access
            layers.append(
                base.transform_filter(
                    (alt.datum.kind == "bucket deleted")
                    | (alt.datum.kind == "opened public access")
                )
                .mark_text(align="left", dx=8, dy=-10, fontSize=10, color="#333")
                .encode(text="event:N")
            )
        rows.append(alt.layer(*layers).properties(width=_width(width), height=34))
    return alt.vconcat(*rows, spacing=6).properties(
        title=alt.TitleParams(
            title or "Bucket history: access changes and deletion",
            subtitle="one row per bucket, each with its own time axis (UTC)",
        )
    )


def _count_axis(data: pl.DataFrame, by: str, column: str):
    """An axis for whole counts: integer ticks only (small counts would get 0.5 ticks)."""
    alt = _alt()
    top = data.group_by(by).agg(pl.col(column).sum())[column].max() if data.height else 0
    if top is not None and top <= 10:
        return alt.Axis(values=list(range(0, int(top) + 1)), format="d")
    return alt.Axis(format=",d")


def _person(df: pl.DataFrame) -> pl.Expr:
    """Who to group by: the person behind a session when known, else the actor."""
    actor = pl.col("actor") if "actor" in df.columns else pl.lit(None, pl.String)
    if "session_started_by" in df.columns:
        return pl.coalesce(pl.col("session_started_by"), actor)
    return actor


def launches_by_day(
    launches: pl.DataFrame, *, top: int = 8, every: str | None = None
) -> pl.DataFrame:
    """Instances launched, failed attempts and estimated cost per principal and day.

    The data of :func:`chart_launches`. The principal is the person behind a session when
    :func:`trailkit.attribute` found one, else the actor; beyond the ``top`` costliest,
    principals are folded into ``"(N others)"``.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 10, 9, tzinfo=timezone.utc)
    >>> l = pl.DataFrame({"event_time": [t, t], "actor": ["a", "a"], "count": [1, 1],
    ...     "success": [True, True], "instance_type": ["p3.2xlarge"] * 2,
    ...     "estimated_cost_usd": [3.06, 3.06]})
    >>> launches_by_day(l).select("principal", "instances", "cost_usd").row(0)
    ('a', 2, 6.12)
    """
    df = _ensure_utc(
        _need(launches, ["event_time", "count", "success"], "launches_by_day"), "event_time"
    )
    if every is None:
        span = (df["event_time"].max() - df["event_time"].min()) if df.height else timedelta(0)
        every = "1d" if span <= timedelta(days=120) else "1w"
    cost = (
        pl.col("estimated_cost_usd")
        if "estimated_cost_usd" in df.columns
        else pl.lit(None, pl.Float64)
    )
    itype = pl.col("instance_type") if "instance_type" in df.columns else pl.lit(None, pl.String)
    df = df.with_columns(_person(df).fill_null("(unknown)").alias("principal"))
    ranking = (
        df.group_by("principal")
        .agg(cost.fill_null(0).sum().alias("c"), pl.col("count").sum().alias("n"))
        .sort(["c", "n", "principal"], descending=[True, True, False])
    )
    kept = ranking["principal"].head(top).to_list()
    n_other = max(ranking.height - len(kept), 0)
    ok = pl.col("success").fill_null(True)
    return (
        df.lazy()
        .with_columns(
            pl.when(pl.col("principal").is_in(kept))
            .then(pl.col("principal"))
            .otherwise(pl.lit(f"({n_other} others)"))
            .alias("principal"),
            pl.col("event_time").dt.truncate(every).alias("day"),
        )
        .group_by("principal", "day")
        .agg(
            pl.col("count").filter(ok).sum().cast(pl.Int64).alias("instances"),
            pl.col("count").filter(~ok).sum().cast(pl.Int64).alias("failed_attempts"),
            cost.filter(ok).fill_null(0).sum().round(2).alias("cost_usd"),
            itype.filter(ok).drop_nulls().unique().sort().head(4).str.join(", ").alias("types"),
        )
        .sort("day", "principal")
        .collect()
    )


def chart_launches(
    launches: pl.DataFrame,
    *,
    top: int = 8,
    title: str | None = None,
    width: int | None = None,
):
    """Instances launched and their estimated cost, per principal per day (two panels).

    Parameters
    ----------
    launches
        The frame :func:`trailkit.instance_launches` returned (``event_time``, ``count``,
        ``success``; ``estimated_cost_usd``, ``instance_type``, ``actor``,
        ``session_started_by`` used when present).
    top
        Principals with their own colour (the costliest); the rest are grouped.
    title, width
        Chart title and width in pixels.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 10, 9, tzinfo=timezone.utc)
    >>> l = pl.DataFrame({"event_time": [t], "actor": ["a"], "count": [1], "success": [True],
    ...     "estimated_cost_usd": [3.06]})
    >>> len(chart_launches(l).to_dict()["vconcat"])
    2
    """
    alt = _alt()
    df = _need(launches, ["event_time", "count", "success"], "chart_launches")
    if df.height == 0:
        return _empty_chart("no RunInstances calls in these logs", width)
    data = launches_by_day(df, top=top).with_columns(
        safe_label(pl.col("principal")).alias("principal"),
        _iso(pl.col("day")).alias("day"),
        pl.col("day").dt.strftime("%Y-%m-%d").alias("day_label"),
        safe_label(pl.col("types"), 60).alias("types"),
    )
    order = (
        data.group_by("principal")
        .agg(pl.col("cost_usd").sum())
        .sort("cost_usd", descending=True)["principal"]
        .to_list()
    )
    color = alt.Color(
        "principal:N",
        title="principal (person behind it)",
        sort=order,
        scale=alt.Scale(scheme="tableau10"),
    )
    tooltip = [
        alt.Tooltip("principal:N"),
        alt.Tooltip("day_label:N", title="from (UTC)"),
        alt.Tooltip("instances:Q", title="instances launched"),
        alt.Tooltip("types:N", title="instance types"),
        alt.Tooltip("cost_usd:Q", title="estimated cost (USD)", format="$,.2f"),
        alt.Tooltip("failed_attempts:Q", title="instances in failed calls"),
    ]
    first, last = launches["event_time"].min(), launches["event_time"].max()
    weekly = (last - first) > timedelta(days=120) if first is not None else False
    step = "week" if weekly else "day"
    if (last - first) <= timedelta(days=90):
        # a real time axis: gaps between launches show
        x = alt.X(
            "day:T",
            title=f"{step} (UTC)",
            scale=alt.Scale(type="utc"),
            timeUnit="utcyearmonthdate",
            axis=alt.Axis(labelAngle=0, format="%b %d"),
        )
    else:
        # a long span: one band per day (or week) that had launches, so bars stay visible
        data = data.with_columns(pl.col("day").str.slice(0, 10))
        x = alt.X(
            "day:O",
            title=f"{step} (UTC), only those with launches",
            axis=alt.Axis(labelAngle=-45),
        )
    w = _width(width)
    base = alt.Chart(data).encode(
        x=x, color=color, tooltip=tooltip, order=alt.Order("cost_usd:Q", sort="descending")
    )
    top_panel = (
        base.mark_bar()
        .encode(
            y=alt.Y(
                "sum(instances):Q",
                title="instances launched",
                axis=_count_axis(data, "day", "instances"),
            )
        )
        .properties(width=w, height=160, title=f"Instances launched per {step}")
    )
    bottom = (
        base.mark_bar()
        .encode(
            y=alt.Y("sum(cost_usd):Q", title="estimated cost (USD)", axis=alt.Axis(format="$,.0f"))
        )
        .properties(
            width=w,
            height=160,
            title="Estimated cost of those instances (on-demand, to stop/terminate or end of logs)",
        )
    )
    return (
        alt.vconcat(top_panel, bottom)
        .resolve_scale(color="shared")
        .properties(
            title=alt.TitleParams(
                title or "Who launches instances, and what they cost", anchor="start"
            )
        )
    )


def chart_policy_what_if(
    what_if: pl.DataFrame,
    *,
    top: int = 12,
    title: str | None = None,
    width: int | None = None,
):
    """RunInstances calls per principal that an instance-type policy would block or allow.

    Parameters
    ----------
    what_if
        The frame :func:`trailkit.policy_what_if` returned (best with ``only_blocked=False``).
    top
        Principals to show (most blocked calls first).
    title, width
        Chart title and width in pixels.

    Examples
    --------
    >>> v = pl.DataFrame({"actor": ["a", "b"], "verdict": ["blocked", "allowed"], "count": [2, 1]})
    >>> chart_policy_what_if(v).to_dict()["mark"]["type"]
    'bar'
    """
    alt = _alt()
    df = _need(what_if, ["verdict"], "chart_policy_what_if")
    if df.height == 0:
        return _empty_chart("no RunInstances calls to judge", width)
    cost = (
        pl.col("estimated_cost_usd")
        if "estimated_cost_usd" in df.columns
        else pl.lit(None, pl.Float64)
    )
    data = (
        df.with_columns(_person(df).fill_null("(unknown)").alias("principal"))
        .group_by("principal", "verdict")
        .agg(pl.len().alias("calls"), cost.fill_null(0).sum().round(2).alias("cost_usd"))
    )
    ranking = (
        data.group_by("principal")
        .agg(
            pl.col("calls").filter(pl.col("verdict") == "blocked").sum().alias("b"),
            pl.col("calls").sum().alias("n"),
        )
        .sort(["b", "n", "principal"], descending=[True, True, False])
        .head(top)["principal"]
    )
    data = data.filter(pl.col("principal").is_in(ranking.implode())).with_columns(
        safe_label(pl.col("principal")).alias("principal")
    )
    order = _labels(ranking.to_list())
    verdicts = ["blocked", "unknown", "allowed"]
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("principal:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
            x=alt.X(
                "sum(calls):Q",
                title="RunInstances calls",
                axis=_count_axis(data, "principal", "calls"),
            ),
            color=alt.Color(
                "verdict:N",
                title="with the policy",
                scale=alt.Scale(domain=verdicts, range=[INCIDENT_COLOR, "#bab0ac", "#54a24b"]),
                legend=alt.Legend(orient="top"),
            ),
            order=alt.Order("verdict:N", sort="ascending"),
            tooltip=[
                alt.Tooltip("principal:N"),
                alt.Tooltip("verdict:N"),
                alt.Tooltip("calls:Q"),
                alt.Tooltip("cost_usd:Q", title="estimated cost (USD)", format="$,.2f"),
            ],
        )
        .properties(
            width=_width(width),
            height=max(60, 26 * len(order)),
            title=title or "What an instance-type policy would have done",
        )
    )
