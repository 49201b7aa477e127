"""trailkit.display: escaping, safe tables, the offline chart output, recorded answers."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime

import polars as pl
import pytest

from trailkit import display
from trailkit.errors import InputError

XSS = "<img src=x onerror=alert(1)>"
BREAKOUT = "</script><script>alert(2)</script>"

pytest.importorskip("altair")
pytest.importorskip("vl_convert")


def _point_spec(values):
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "data": {"values": values},
        "mark": "point",
        "encoding": {
            "x": {"field": "x", "type": "quantitative"},
            "tooltip": {"field": "ua", "type": "nominal"},
        },
    }


# -- text -----------------------------------------------------------------------------------


def test_escape_and_clean_text():
    assert display.escape(XSS) == "&lt;img src=x onerror=alert(1)&gt;"
    assert display.escape('"q"') == "&quot;q&quot;"
    assert display.clean_text(None) == ""
    assert display.clean_text("a\nb\tc") == "a b c"
    assert display.clean_text("\x1b[31mred") == "\\x1b[31mred"
    assert display.clean_text("abcdef", max_chars=4) == "abc…"
    assert display.clean_text(datetime(2026, 3, 10, 9, 5, tzinfo=UTC)) == "2026-03-10 09:05:00Z"


def test_md_text_has_no_markup():
    text = display.md_text(f"{XSS} [link](javascript:alert(1)) **bold**")
    assert "<" not in text and ">" not in text
    assert "\\[link\\]" in text and "\\*\\*bold" in text


def test_md_code_fences_backticks():
    assert display.md_code("plain") == "`plain`"
    assert display.md_code("a`b") == "`` a`b ``"
    assert display.md_code("``x") == "``` ``x ```"
    assert display.md_code("") == '`""`'
    # newlines would end the code span; they become spaces
    assert "\n" not in display.md_code("a\nb")


# -- tables -----------------------------------------------------------------------------------


def test_table_escapes_every_cell_and_header():
    df = pl.DataFrame(
        {XSS: [XSS], "n": [1], "none": [None]},
        schema={XSS: pl.String, "n": pl.Int64, "none": pl.String},
    )
    html_text = display.table(df).html
    assert XSS not in html_text
    assert "<th>&lt;img src=x onerror=alert(1)&gt;</th>" in html_text
    assert "<td>&lt;img src=x onerror=alert(1)&gt;</td>" in html_text
    assert "null" in html_text


def test_table_truncates_with_escaped_title_and_counts_rows():
    long = '"><script>alert(1)</script>' + "x" * 300
    html_text = display.table(pl.DataFrame({"a": [long] * 60}), max_rows=5, max_chars=50).html
    assert "<script>" not in html_text
    assert 'title="&quot;&gt;&lt;script&gt;' in html_text
    assert "showing 5 of 60 rows" in html_text
    assert html_text.count("<tr>") == 6


def test_table_lists_and_structs_become_json_text():
    df = pl.DataFrame({"ports": [[22, 3389]], "s": [{"k": XSS}]})
    html_text = display.table(df).html
    assert "[22, 3389]" in html_text
    assert "&lt;img" in html_text


def test_table_errors_name_the_fix():
    with pytest.raises(InputError, match="LazyFrame"):
        display.table(pl.LazyFrame({"a": [1]}))
    with pytest.raises(InputError, match=r"no column\(s\) \['b'\]"):
        display.table(pl.DataFrame({"a": [1]}), columns=["b"])


def test_polars_formatter_hides_null_columns():
    df = pl.DataFrame({"a": [XSS], "empty": [None]}, schema={"a": pl.String, "empty": pl.String})
    out = display._polars_html(df)
    assert "&lt;img" in out and XSS not in out
    assert "empty" not in out and "1 columns that are null" in out


def test_key_values_and_answers():
    ans = display.answers(
        deleted_by=XSS, events=3, when=datetime(2026, 3, 10, tzinfo=UTC), ids=["a", "b"]
    )
    bundle = ans._repr_mimebundle_()
    assert bundle[display.ANSWER_MIME] == {
        "deleted_by": XSS,
        "events": 3,
        "when": "2026-03-10T00:00:00+00:00",
        "ids": ["a", "b"],
    }
    assert XSS not in bundle["text/html"]
    json.dumps(bundle[display.ANSWER_MIME])  # JSON-able, as nbformat requires


def test_recorded_answers_reads_executed_notebook():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("x"),
            nbformat.v4.new_code_cell(
                outputs=[
                    nbformat.v4.new_output("display_data", data={display.ANSWER_MIME: {"a": 1}})
                ]
            ),
            nbformat.v4.new_code_cell(
                outputs=[
                    nbformat.v4.new_output("display_data", data={display.ANSWER_MIME: {"b": [2]}})
                ]
            ),
        ]
    )
    nbformat.validate(nb)  # the custom +json MIME type is valid nbformat
    assert display.recorded_answers(nb) == {"a": 1, "b": [2]}


# -- charts -----------------------------------------------------------------------------------


def test_png_mode_is_png_only():
    bundle, meta = display.chart_mimebundle(_point_spec([{"x": 1, "ua": XSS}]), charts="png")
    assert set(bundle) == {"image/png", "text/plain"}
    png = base64.b64decode(bundle["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert meta["image/png"]["width"] > 0


def test_interactive_mode_has_png_fallback_and_safe_inline_spec():
    spec = _point_spec([{"x": 1, "ua": XSS}, {"x": 2, "ua": BREAKOUT}])
    spec["title"] = XSS
    bundle, _ = display.chart_mimebundle(spec, charts="interactive")
    html_text = bundle["text/html"]
    # the PNG is there for places where scripts do not run
    assert 'class="trailkit-chart-png" src="data:image/png;base64,' in html_text
    # exactly one closing script tag per opened one: the data cannot break out
    assert html_text.lower().count("<script") == html_text.lower().count("</script>") == 1
    assert XSS not in html_text and "alert(2)</script>" not in html_text
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in html_text
    # no network: the vega libraries are inline
    assert not re.search(r"<script[^>]+src=", html_text)
    assert "window.vegaEmbed" in html_text
    # tooltips escape their text
    assert "sanitize: escapeText" in html_text
    # alt text of the PNG is escaped too
    assert 'alt="&lt;img' in html_text


def test_chart_mode_from_environment(monkeypatch):
    monkeypatch.setenv("TRAILKIT_CHARTS", "png")
    assert display.chart_mode() == "png"
    bundle, _ = display.chart_mimebundle(_point_spec([{"x": 1, "ua": "a"}]))
    assert "text/html" not in bundle
    monkeypatch.setenv("TRAILKIT_CHARTS", "fancy")
    with pytest.raises(InputError, match="interactive"):
        display.chart_mode()


def test_setup_notebook_enables_the_renderer():
    alt = pytest.importorskip("altair")
    before = alt.renderers.active
    try:
        display.setup_notebook(charts="png", tables=False)
        assert alt.renderers.active == "trailkit"
        chart = alt.Chart(pl.DataFrame({"x": [1, 2]})).mark_bar().encode(x="x:Q")
        bundle = chart._repr_mimebundle_()
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        assert "image/png" in data
        # altair 6's vega-lite MIME type, which nbformat rejects, is never emitted
        assert not any(k.startswith("application/vnd.vegalite") for k in data)
    finally:
        alt.renderers.enable(before)


def test_setup_notebook_rejects_unknown_mode():
    with pytest.raises(InputError):
        display.setup_notebook(charts="svg")


def test_show_chart_independent_of_renderer():
    out = display.show_chart(_point_spec([{"x": 1, "ua": "a"}]), charts="png")
    assert "image/png" in out._repr_mimebundle_()[0]
