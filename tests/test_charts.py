"""trailkit.charts: aggregate first (never MaxRowsError), clean labels, scenario charts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

alt = pytest.importorskip("altair")
pytest.importorskip("vl_convert")

import trailkit  # noqa: E402
from trailkit import charts, display  # noqa: E402
from trailkit.errors import InputError  # noqa: E402

XSS = "<img src=x onerror=alert(1)>"
T0 = datetime(2026, 3, 2, tzinfo=UTC)
SCENARIOS = Path(__file__).parent / "data" / "scenarios"


@pytest.fixture(scope="module")
def big() -> pl.DataFrame:
    """200,000 events over 60 days from 400 actors (one of them named like an XSS payload)."""
    h = pl.int_range(0, 200_000, eager=True).hash(seed=1).alias("h").to_frame()
    names = pl.Series(["GetObject", "ListBuckets", "RunInstances", "AssumeRole"])
    regions = pl.Series(["us-east-1", "eu-west-1", "ap-south-1"])
    return h.select(
        (pl.lit(T0) + pl.duration(seconds=(pl.col("h") % (60 * 86400)).cast(pl.Int64))).alias(
            "event_time"
        ),
        pl.when(pl.col("h") % 400 == 7)
        .then(pl.lit(XSS))
        .otherwise(pl.lit("user") + (pl.col("h") % 400).cast(pl.String))
        .alias("actor"),
        pl.lit(names).gather(pl.col("h") % 4).alias("event_name"),
        (pl.col("h") % 17 != 0).alias("success"),
        pl.lit(regions).gather(pl.col("h") % 3).alias("aws_region"),
    )


def _datasets(chart) -> dict[str, list]:
    spec = chart.to_dict()
    return spec.get("datasets", {})


def _max_rows(chart) -> int:
    return max(len(v) for v in _datasets(chart).values())


def test_choose_every_bounds_the_bins():
    assert charts.choose_every(T0, T0 + timedelta(minutes=30)) == "1m"
    assert charts.choose_every(T0, T0 + timedelta(days=7)) == "1h"
    assert charts.choose_every(T0, T0 + timedelta(days=3650)) == "1mo"
    assert charts.choose_every(None, None) == "1h"


def test_timeline_of_200k_events_stays_small(big):
    highlight = (
        big.filter(pl.col("actor") == "user3")
        .head(5)
        .with_columns(pl.lit("DeleteBucket").alias("event_name"))
    )
    chart = charts.chart_timeline(
        big, highlight=highlight, window=(T0 + timedelta(days=3), T0 + timedelta(days=4))
    )
    assert _max_rows(chart) <= charts.MAX_CHART_ROWS
    chart.to_dict()  # no MaxRowsError
    rows = [r for d in _datasets(chart).values() for r in d if "actor" in r]
    actors = {r["actor"] for r in rows}
    assert "user3" in actors  # incident actor always kept
    assert any(a.startswith("(") and "other actors" in a for a in actors)
    assert len(actors) <= 12 + 2


def test_timeline_coarsens_when_too_many_cells(big):
    chart = charts.chart_timeline(big, top=100, every="1h")
    assert _max_rows(chart) <= charts.MAX_CHART_ROWS


def test_heatmap_of_200k_events(big):
    chart = charts.chart_heatmap(big)
    assert _max_rows(chart) <= 24 * 62
    data = charts.activity_by_hour(big, day="weekday")
    assert data.height == 7 * 24
    assert data["events"].sum() == big.height


def test_labels_are_cleaned_text():
    df = pl.DataFrame(
        {"event_time": [T0], "actor": ["evil\n\x00" + XSS + "x" * 200], "event_name": ["A\rB"]}
    )
    chart = charts.chart_timeline(df, highlight=df)
    text = json.dumps(chart.to_dict())
    assert "\\u0000" not in text and "\\n" not in text
    assert "evil <img src=x onerror=alert(1)>" in text  # text, shortened, never markup
    label = next(r["actor"] for d in _datasets(chart).values() for r in d if "actor" in r)
    assert len(label) <= 60 and label.endswith("…")


def test_naive_and_string_times_are_taken_as_utc():
    naive = pl.DataFrame({"event_time": [datetime(2026, 3, 10, 9)], "actor": ["a"]})
    text = pl.DataFrame({"event_time": ["2026-03-10T09:00:00Z"], "actor": ["a"]})
    for df in (naive, text):
        rows = charts.activity_by_actor(df, every="1h")
        assert rows["bucket"].dtype == pl.Datetime("us", "UTC")


def test_bad_input_names_the_problem():
    with pytest.raises(InputError, match="LazyFrame"):
        charts.chart_timeline(pl.LazyFrame({"event_time": [T0], "actor": ["a"]}))
    with pytest.raises(InputError, match="actor"):
        charts.chart_timeline(pl.DataFrame({"event_time": [T0]}))
    with pytest.raises(InputError, match="pandas|DataFrame"):
        charts.chart_heatmap({"event_time": [T0]})


def test_empty_frames_draw_a_message():
    empty = pl.DataFrame(schema={"event_time": pl.Datetime("us", "UTC"), "actor": pl.String})
    for chart in (charts.chart_timeline(empty), charts.chart_heatmap(empty)):
        assert "no events" in json.dumps(chart.to_dict())


def test_a_chart_renders_to_png(big):
    png = display.chart_png(charts.chart_heatmap(big.head(1000)))
    assert png[:4] == b"\x89PNG"


# -- scenario charts, on real record shapes -----------------------------------------------------


@pytest.fixture(scope="module")
def example_events() -> pl.DataFrame:
    """Real records of the three scenarios (tests/data/scenarios, see its SOURCE.md)."""
    return trailkit.read_events(SCENARIOS)


def test_bucket_history_chart(example_events):
    history = trailkit.who_deleted_bucket(example_events)
    assert history.height
    chart = charts.chart_bucket_history(history)
    spec = json.dumps(chart.to_dict())
    assert "bucket deleted" in spec
    display.chart_png(chart)


def test_exposure_chart(example_events):
    rules = trailkit.open_ingress(example_events)
    assert rules.height
    chart = charts.chart_exposure(rules)
    spec = chart.to_dict()
    data = next(iter(spec["datasets"].values()))
    assert all(r["state"] in ("still open at end of logs", "revoked") for r in data)
    assert all(r["exposed_for"] for r in data)
    display.chart_png(chart)


def test_exposure_chart_without_open_rules_says_so():
    rules = pl.DataFrame(
        {
            "event_time": [T0],
            "group_id": ["sg-1"],
            "exposure_seconds": [None],
            "still_open": [False],
            "success": [False],
        },
        schema_overrides={"exposure_seconds": pl.Float64},
    )
    assert "no rule was opened" in json.dumps(charts.chart_exposure(rules).to_dict())


def _launches(n_people: int = 15, days: int = 200) -> pl.DataFrame:
    i = pl.int_range(0, n_people * days, eager=True).alias("i").to_frame()
    return i.select(
        (pl.lit(T0) + pl.duration(days=pl.col("i") % days)).alias("event_time"),
        pl.lit("role/session").alias("actor"),
        (pl.lit("person") + (pl.col("i") // days).cast(pl.String)).alias("session_started_by"),
        pl.lit(1).alias("count"),
        (pl.col("i") % 9 != 0).alias("success"),
        pl.lit(pl.Series(["p3.16xlarge", "t3.small"]))
        .gather(pl.col("i") % 2)
        .alias("instance_type"),
        (pl.col("i") % 50).cast(pl.Float64).alias("estimated_cost_usd"),
    )


def test_launch_chart_groups_people_and_weeks():
    launches = _launches()
    data = charts.launches_by_day(launches, top=5)
    assert data["principal"].n_unique() == 6  # 5 + "(10 others)"
    assert "(10 others)" in data["principal"].to_list()
    assert data["instances"].sum() == launches.filter("success")["count"].sum()
    assert data["failed_attempts"].sum() == launches.filter(~pl.col("success"))["count"].sum()
    # 200 days: weekly bins
    assert data["day"].n_unique() <= 30
    chart = charts.chart_launches(launches)
    assert _max_rows(chart) <= charts.MAX_CHART_ROWS
    display.chart_png(chart)


def test_launch_chart_on_example_records(example_events):
    launches = trailkit.instance_launches(example_events)
    chart = charts.chart_launches(launches)
    assert len(chart.to_dict()["vconcat"]) == 2


def test_policy_what_if_chart(example_events):
    verdicts = trailkit.policy_what_if(example_events, ["t2.micro"], only_blocked=False)
    chart = charts.chart_policy_what_if(verdicts)
    data = next(iter(chart.to_dict()["datasets"].values()))
    assert {r["verdict"] for r in data} <= {"blocked", "allowed", "unknown"}
    display.chart_png(chart)


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_tooltips_never_show_a_parsed_time_field(example_events, big):
    """A field drawn on a time axis is parsed as a date by Vega; shown as text in a tooltip it
    would read 1773133500000. Every tooltip uses its own text field instead."""
    built = [
        charts.chart_timeline(big.head(5000), highlight=big.head(3)),
        charts.chart_bucket_history(trailkit.who_deleted_bucket(example_events)),
        charts.chart_exposure(trailkit.open_ingress(example_events)),
        charts.chart_launches(_launches(3, 20)),
    ]
    for chart in built:
        nodes = list(_walk(chart.to_dict()))
        temporal = {n["field"] for n in nodes if n.get("type") == "temporal" and "field" in n}
        tooltips = [t for n in nodes for t in (n.get("tooltip") or []) if isinstance(t, dict)]
        assert tooltips
        assert not {t["field"] for t in tooltips if t.get("type") == "nominal"} & temporal
