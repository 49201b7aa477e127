"""Pickers that refilter a table and a chart live (ipywidgets), as a thin layer on top.

Nothing here is needed to get an answer: every notebook computes its result from its
``parameters`` cell first and adds an explorer last. The explorer's callbacks only call
:func:`filter_events`, :func:`trailkit.display.table_html` and a chart function, so what
the widgets show is what the package functions return.

- :func:`filter_events` — the filter itself (time range, actors, event names, regions).
- :func:`explorer` — pickers for those four, a summary line, an escaped table and a chart
  (PNG, so it draws the same live, in executed notebooks and in exported snapshots).

When exported to HTML (``trailkit report``), or opened untrusted, the explorer shows a
static snapshot of its current table and chart instead of the live widgets.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timezone
>>> t = datetime(2026, 3, 10, 14, tzinfo=timezone.utc)
>>> df = pl.DataFrame({"event_time": [t, t], "actor": ["alice", "bob"],
...                    "event_name": ["ListBuckets", "DeleteBucket"], "aws_region": ["us-east-1"] * 2})
>>> filter_events(df, actors=["bob"])["event_name"].to_list()
['DeleteBucket']
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import polars as pl

from trailkit.display import clean_text, escape, table_html
from trailkit.errors import InputError, require

#: columns the explorer's table shows by default (those present in the frame).
DEFAULT_COLUMNS = (
    "event_time",
    "actor",
    "event_name",
    "aws_region",
    "source_ip",
    "error_code",
    "user_agent",
)

#: at most this many choices in one picker (the most frequent values).
MAX_CHOICES = 300

_PICKERS = (("actor", "actors"), ("event_name", "event names"), ("aws_region", "regions"))


def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return list(value)


def filter_events(
    events: pl.DataFrame,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    actors: str | Sequence[str] | None = None,
    event_names: str | Sequence[str] | None = None,
    regions: str | Sequence[str] | None = None,
) -> pl.DataFrame:
    """The events inside a time range and matching any of the given actors, names, regions.

    ``None`` or an empty list means "no filter" for that field. ``start`` is inclusive,
    ``end`` exclusive.

    Parameters
    ----------
    events
        Normalised events.
    start, end
        Time range (timezone-aware; naive datetimes are taken as UTC).
    actors, event_names, regions
        Values of ``actor``, ``event_name`` and ``aws_region`` to keep.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 10, 14, tzinfo=timezone.utc)
    >>> df = pl.DataFrame({"event_time": [t], "actor": ["a"], "event_name": ["X"],
    ...                    "aws_region": ["eu-west-1"]})
    >>> filter_events(df, regions="us-east-1").height
    0
    """
    if not isinstance(events, pl.DataFrame):
        raise InputError(
            f"filter_events: expected a polars DataFrame of events, got {type(events).__name__}. "
            "Load logs with trailkit.read_events(path) first."
        )
    conditions = []
    for value, column in ((start, ">="), (end, "<")):
        if value is None:
            continue
        if "event_time" not in events.columns:
            raise InputError("filter_events: the frame has no event_time column to filter by time.")
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        lit = pl.lit(value).cast(events.schema["event_time"])
        conditions.append(
            pl.col("event_time") >= lit if column == ">=" else pl.col("event_time") < lit
        )
    for values, name in ((actors, "actor"), (event_names, "event_name"), (regions, "aws_region")):
        chosen = _as_list(values)
        if not chosen:
            continue
        if name not in events.columns:
            raise InputError(
                f"filter_events: the frame has no {name} column; it has {events.columns}."
            )
        conditions.append(pl.col(name).is_in(chosen))
    return events.filter(*conditions) if conditions else events


def _choices(events: pl.DataFrame, column: str) -> list[tuple[str, str]]:
    if column not in events.columns:
        return []
    counts = (
        events.group_by(column)
        .len()
        .drop_nulls(column)
        .sort(["len", column], descending=[True, False])
        .head(MAX_CHOICES)
    )
    return [
        (f"{clean_text(v, 60)} ({n:,})", v)
        for v, n in zip(counts[column].to_list(), counts["len"].to_list(), strict=True)
    ]


def _time_steps(events: pl.DataFrame, max_steps: int = 120) -> list[tuple[str, datetime]]:
    from trailkit.charts import _EVERY, choose_every

    t0, t1 = events["event_time"].min(), events["event_time"].max()
    if t0 is None:
        return []
    every = choose_every(t0, t1, max_bins=max_steps)
    step = dict(_EVERY)[every]
    first = pl.select(pl.lit(t0).dt.truncate(every)).item()
    steps = []
    t = first
    while t <= t1 + step:
        steps.append((t.strftime("%Y-%m-%d %H:%M"), t))
        t = t + step
        if len(steps) > max_steps * 2:  # month steps are approximate; stop anyway
            break
    if len(steps) < 2:
        steps.append(((t).strftime("%Y-%m-%d %H:%M"), t))
    return steps


class Explorer:
    """Pickers (time range, actors, event names, regions) over a table and a chart.

    Use :func:`explorer` to build one. ``widget`` is the ipywidgets box; ``filtered`` is the
    frame the pickers currently select; ``refresh()`` redraws.
    """

    def __init__(
        self,
        events: pl.DataFrame,
        *,
        chart: Callable[[pl.DataFrame], Any] | None = None,
        columns: Sequence[str] | None = None,
        max_rows: int = 20,
        title: str = "Explore the events",
    ):
        widgets = require("ipywidgets", "notebooks")
        if not isinstance(events, pl.DataFrame) or "event_time" not in events.columns:
            raise InputError(
                "explorer(): give it the events frame from trailkit.read_events(...) "
                "(a polars DataFrame with an event_time column)."
            )
        from trailkit import charts

        self.events = events
        self.chart = chart or (lambda df: charts.chart_timeline(df, width=560))
        self.columns = [c for c in (columns or DEFAULT_COLUMNS) if c in events.columns]
        self.max_rows = max_rows
        self.title = title
        self.filtered = events
        self._png: bytes | None = None

        steps = _time_steps(events)
        self.time = widgets.SelectionRangeSlider(
            options=steps or [("(no events)", None)],
            index=(0, max(len(steps) - 1, 0)),
            description="time (UTC)",
            readout=False,  # the summary line says the range in full
            continuous_update=False,
            layout=widgets.Layout(width="98%"),
            style={"description_width": "80px"},
        )
        self.pickers = {}
        columns_box = []
        for column, label in _PICKERS:
            self.pickers[column] = widgets.SelectMultiple(
                options=_choices(events, column),
                value=(),
                rows=6,
                layout=widgets.Layout(width="98%"),
            )
            columns_box.append(
                widgets.VBox(
                    [widgets.Label(label), self.pickers[column]],
                    layout=widgets.Layout(flex="1 1 0", min_width="0"),
                )
            )
        self.reset_button = widgets.Button(description="show all", tooltip="clear every picker")
        self.summary = widgets.HTML()
        self.table = widgets.HTML(layout=widgets.Layout(max_height="420px", overflow="auto"))
        self.image = widgets.Image(format="png")
        hint = widgets.HTML(
            "<small>Pick several with Ctrl/Cmd-click; nothing picked means all.</small>"
        )
        self.widget = widgets.VBox(
            [
                widgets.HTML(f"<b>{escape(title)}</b>"),
                self.time,
                widgets.HBox(columns_box, layout=widgets.Layout(width="100%")),
                widgets.HBox([self.reset_button, hint]),
                self.summary,
                self.image,
                self.table,
            ]
        )
        self.time.observe(self._changed, names="value")
        for picker in self.pickers.values():
            picker.observe(self._changed, names="value")
        self.reset_button.on_click(self._reset)
        self.refresh()

    # -- callbacks ----------------------------------------------------------------------------

    def _changed(self, _change: Any = None) -> None:
        self.refresh()

    def _reset(self, _button: Any = None) -> None:
        for picker in self.pickers.values():
            picker.value = ()
        options = self.time.options
        self.time.index = (0, max(len(options) - 1, 0))
        self.refresh()

    def selection(self) -> dict[str, Any]:
        """The current picks, as keyword arguments for :func:`filter_events`."""
        start, end = self.time.value if self.time.value else (None, None)
        last = self.time.options[-1][1] if self.time.options else None
        first = self.time.options[0][1] if self.time.options else None
        return {
            "start": None if start == first else start,
            "end": None if end == last else end,
            "actors": list(self.pickers["actor"].value) or None,
            "event_names": list(self.pickers["event_name"].value) or None,
            "regions": list(self.pickers["aws_region"].value) or None,
        }

    def refresh(self) -> None:
        """Refilter and redraw the summary, the chart and the table."""
        from trailkit.display import chart_png

        self.filtered = filter_events(self.events, **self.selection())
        df = self.filtered
        n_actors = df["actor"].n_unique() if "actor" in df.columns else 0
        failed = int((~df["success"].fill_null(True)).sum()) if "success" in df.columns else 0
        shown = self.time.value if self.time.value and self.time.value[0] is not None else None
        span = f" from {shown[0]:%Y-%m-%d %H:%M} to {shown[1]:%Y-%m-%d %H:%M} UTC" if shown else ""
        self.summary.value = (
            f"<p>{df.height:,} of {self.events.height:,} events{span}; {n_actors:,} "
            f"actor{'s' if n_actors != 1 else ''}; {failed:,} failed call{'s' if failed != 1 else ''}.</p>"
        )
        self.table.value = table_html(
            df.sort("event_time", descending=True) if df.height else df,
            columns=self.columns,
            max_rows=self.max_rows,
            caption="latest events first",
        )
        try:
            self._png = chart_png(self.chart(df))
            self.image.value = self._png
            self.image.layout.display = None
        except Exception as exc:  # a chart problem must not break the pickers
            self._png = None
            self.image.layout.display = "none"
            self.summary.value += f"<p>(chart not drawn: {escape(exc, 300)})</p>"

    # -- display ------------------------------------------------------------------------------

    def snapshot_html(self) -> str:
        """The current summary, chart and table as static, escaped HTML."""
        parts = [
            '<div class="trailkit-explorer-snapshot">',
            f"<p><b>{escape(self.title)}</b> <i>(static snapshot: open the notebook in "
            "JupyterLab to use the pickers)</i></p>",
            self.summary.value,
        ]
        if self._png:
            from trailkit.display import _png_size

            width = _png_size(self._png)[0] // 2
            b64 = base64.b64encode(self._png).decode("ascii")
            parts.append(
                f'<img src="data:image/png;base64,{b64}" width="{width}" '
                'style="max-width:100%;height:auto" alt="chart of the selected events">'
            )
        parts.append(self.table.value)
        parts.append("</div>")
        return "".join(parts)

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.widget._repr_mimebundle_()
        bundle["text/html"] = self.snapshot_html()
        return bundle


def explorer(
    events: pl.DataFrame,
    *,
    chart: Callable[[pl.DataFrame], Any] | None = None,
    columns: Sequence[str] | None = None,
    max_rows: int = 20,
    title: str = "Explore the events",
) -> Explorer:
    """Time-range, actor, event-name and region pickers that refilter a table and a chart.

    Parameters
    ----------
    events
        Normalised events (from :func:`trailkit.read_events`).
    chart
        A function frame → altair chart, e.g. ``trailkit.charts.chart_heatmap``; default
        :func:`trailkit.charts.chart_timeline`.
    columns
        Columns for the table (default :data:`DEFAULT_COLUMNS`, those present).
    max_rows
        Rows shown in the table (latest first).
    title
        Heading shown above the pickers.

    Examples
    --------
    >>> ex = explorer(df)  # doctest: +SKIP
    >>> ex.pickers["actor"].value = ("alice",)  # doctest: +SKIP
    >>> ex.filtered.height  # doctest: +SKIP
    """
    return Explorer(events, chart=chart, columns=columns, max_rows=max_rows, title=title)


__all__ = ["DEFAULT_COLUMNS", "Explorer", "explorer", "filter_events"]
