"""trailkit.widgets: the filter, and the explorer driven as a user would (no browser)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("altair")
pytest.importorskip("vl_convert")

from trailkit import widgets  # noqa: E402
from trailkit.errors import InputError  # noqa: E402
from trailkit.report import WIDGET_VIEW_MIME  # noqa: E402

XSS = "<img src=x onerror=alert(1)>"
T0 = datetime(2026, 3, 10, tzinfo=UTC)


@pytest.fixture
def events() -> pl.DataFrame:
    n = 500
    return pl.DataFrame(
        {
            "event_time": [T0 + timedelta(minutes=7 * i) for i in range(n)],
            "actor": [["alice", "bob", XSS][i % 3] for i in range(n)],
            "event_name": [["ListBuckets", "DeleteBucket"][i % 2] for i in range(n)],
            "aws_region": [["us-east-1", "eu-west-1"][i % 2] for i in range(n)],
            "success": [i % 10 != 0 for i in range(n)],
            "user_agent": [XSS] * n,
        }
    )


def test_filter_events(events):
    assert widgets.filter_events(events).height == events.height
    assert widgets.filter_events(events, actors=[]).height == events.height  # empty = all
    only = widgets.filter_events(events, actors="bob", regions=["us-east-1", "eu-west-1"])
    assert set(only["actor"]) == {"bob"}
    window = widgets.filter_events(
        events, start=T0 + timedelta(hours=1), end=T0 + timedelta(hours=2)
    )
    assert window["event_time"].min() >= T0 + timedelta(hours=1)
    assert window["event_time"].max() < T0 + timedelta(hours=2)
    naive = widgets.filter_events(events, start=datetime(2026, 3, 10, 1))  # naive = UTC
    assert (
        naive.height
        == window.height + widgets.filter_events(events, start=T0 + timedelta(hours=2)).height
    )


def test_filter_errors(events):
    with pytest.raises(InputError, match="DataFrame"):
        widgets.filter_events([1, 2])
    with pytest.raises(InputError, match="aws_region"):
        widgets.filter_events(events.drop("aws_region"), regions=["x"])


def test_explorer_refilters_live(events):
    ex = widgets.explorer(events)
    assert ex.filtered.height == events.height
    assert ex.image.value[:4] == b"\x89PNG"
    # options are labels with counts; values are the raw actor names
    values = [v for _, v in ex.pickers["actor"].options]
    assert set(values) == {"alice", "bob", XSS}
    ex.pickers["actor"].value = ("bob",)
    assert set(ex.filtered["actor"]) == {"bob"}
    assert f"{ex.filtered.height:,} of {events.height:,} events" in ex.summary.value
    ex.pickers["event_name"].value = ("DeleteBucket",)
    assert set(ex.filtered["event_name"]) == {"DeleteBucket"}
    ex.time.index = (1, 3)
    assert ex.filtered["event_time"].min() >= ex.time.value[0]
    ex._reset()
    assert ex.filtered.height == events.height


def test_explorer_html_is_escaped(events):
    ex = widgets.explorer(events)
    assert XSS not in ex.table.value
    assert "&lt;img src=x onerror=alert(1)&gt;" in ex.table.value
    snapshot = ex.snapshot_html()
    assert XSS not in snapshot and "data:image/png;base64," in snapshot


def test_explorer_bundle_has_widget_and_snapshot(events):
    bundle = widgets.explorer(events)._repr_mimebundle_()
    assert WIDGET_VIEW_MIME in bundle
    assert "static snapshot" in bundle["text/html"]


def test_explorer_with_another_chart_and_a_broken_one(events):
    from trailkit import charts

    ex = widgets.explorer(events, chart=charts.chart_heatmap, columns=["actor"])
    assert ex.columns == ["actor"]

    def broken(_df):
        raise RuntimeError("no chart today")

    ex = widgets.explorer(events, chart=broken)
    assert "chart not drawn: no chart today" in ex.summary.value
    assert ex.table.value  # the table still works


def test_explorer_needs_events():
    with pytest.raises(InputError, match="event_time"):
        widgets.explorer(pl.DataFrame({"a": [1]}))
