"""Showing results safely in notebooks, and charts that render offline everywhere.

Everything in a CloudTrail record that a caller can choose (``userAgent``, request
parameters, error messages, bucket and session names) is attacker-controlled text. This
module is the one place where such text turns into HTML or Markdown, and it always escapes:

- :func:`table` shows a polars frame as an HTML table with every cell escaped; it survives
  nbconvert's HTML export and JupyterLab's sanitiser (untrusted notebooks) unchanged.
- :func:`md_text` and :func:`md_code` put a value into Markdown as literal text.
- :func:`setup_notebook` makes altair charts show in live JupyterLab, in executed
  notebooks reopened later (untrusted) and in exported HTML, with no internet: each chart
  becomes a PNG (rendered by vl-convert) plus, unless ``charts="png"``, an interactive
  version whose JavaScript is bundled inline and which replaces the PNG when scripts may
  run. It also shows polars frames through :func:`table`.
- :func:`answers` shows a notebook's key answers and records them for CI.

Examples
--------
>>> import polars as pl
>>> from trailkit.display import table, md_code
>>> "&lt;img" in table(pl.DataFrame({"user_agent": ["<img src=x onerror=alert(1)>"]})).html
True
>>> md_code("a`b")
'`` a`b ``'
"""

from __future__ import annotations

import base64
import functools
import html
import json
import os
import re
import struct
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal

import polars as pl

from trailkit.errors import InputError, require

#: the MIME type under which :func:`answers` records a notebook's key answers.
ANSWER_MIME = "application/vnd.trailkit.answer+json"

#: how charts are rendered: "interactive" (PNG + inline JavaScript) or "png" only.
ChartMode = Literal["interactive", "png"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


# -- text -----------------------------------------------------------------------------------


def clean_text(value: Any, max_chars: int | None = None) -> str:
    """Turn any value into one line of plain text: control characters shown as ``\\xNN``.

    Parameters
    ----------
    value
        Anything; ``None`` becomes ``""``.
    max_chars
        Cut longer text to this many characters and end it with ``…``.

    Examples
    --------
    >>> clean_text("a\\x1b[31mb")
    'a\\\\x1b[31mb'
    >>> clean_text("x" * 10, max_chars=4)
    'xxx…'
    """
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.isoformat(sep=" ").replace("+00:00", "Z")
    else:
        text = str(value)
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else " ", text)
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("\t", " ")
    if max_chars is not None and len(text) > max_chars:
        text = text[: max(max_chars - 1, 0)] + "…"
    return text


def escape(value: Any, max_chars: int | None = None) -> str:
    """Escape a value for use as HTML text or a quoted attribute.

    Examples
    --------
    >>> escape('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    return html.escape(clean_text(value, max_chars), quote=True)


def md_text(value: Any, max_chars: int | None = 200) -> str:
    """Put a value into Markdown as literal text: no markup, links or HTML survive.

    HTML special characters become entities and Markdown punctuation is backslash-escaped.

    Examples
    --------
    >>> print(md_text("<b>*hi*</b>"))
    &lt;b&gt;\\*hi\\*&lt;/b&gt;
    """
    text = clean_text(value, max_chars)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def md_code(value: Any, max_chars: int | None = 200) -> str:
    """Put a value into Markdown as an inline code span (shown literally, monospaced).

    The fence is longer than any run of backticks inside the value, as CommonMark requires.

    Examples
    --------
    >>> md_code("arn:aws:iam::111122223333:user/alice")
    '`arn:aws:iam::111122223333:user/alice`'
    >>> md_code("<script>")
    '`<script>`'
    """
    text = clean_text(value, max_chars)
    if not text:
        return '`""`'
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if longest or text.startswith(" ") or text.endswith(" "):
        return f"{fence} {text} {fence}"
    return f"{fence}{text}{fence}"


# -- HTML tables ------------------------------------------------------------------------------

_TABLE_CSS = (
    "<style>"
    ".trailkit-table-box{overflow-x:auto;max-width:100%;}"
    "table.trailkit-table{border-collapse:collapse;font-size:12px;margin:4px 0;table-layout:auto;}"
    "table.trailkit-table th,table.trailkit-table td{border:1px solid #ddd;padding:2px 6px;"
    "text-align:left !important;vertical-align:top;}"
    "table.trailkit-table td{max-width:420px;overflow-wrap:break-word;line-height:1.35;}"
    "table.trailkit-table th{background:#f3f3f3;white-space:nowrap;}"
    "table.trailkit-table caption{caption-side:top;text-align:left;color:#555;padding:2px 0;}"
    "</style>"
)


def format_number(value: float) -> str:
    """A float for reading: thousands separators, two decimals (four significant digits below 1).

    Examples
    --------
    >>> format_number(1023.4701), format_number(0.0416), format_number(62.8358333)
    ('1,023.47', '0.0416', '62.84')
    """
    if value != value or value in (float("inf"), float("-inf")):  # nan, inf
        return str(value)
    if value == 0 or abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.4g}"


class SafeHTML:
    """HTML that trailkit built itself (every data value in it escaped).

    Examples
    --------
    >>> SafeHTML("<b>ok</b>")._repr_html_()
    '<b>ok</b>'
    """

    def __init__(self, html_text: str, plain: str = ""):
        self.html = html_text
        self.plain = plain or "<trailkit output>"

    def _repr_html_(self) -> str:
        return self.html

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        return {"text/html": self.html, "text/plain": self.plain}

    def __repr__(self) -> str:
        return self.plain


def _cell(value: Any, max_chars: int) -> str:
    if value is None:
        return '<td style="color:#999">null</td>'
    if isinstance(value, (list, dict, tuple)):
        value = json.dumps(value, default=str, ensure_ascii=False)
    elif isinstance(value, float):
        value = format_number(value)
    text = clean_text(value)
    if len(text) > max_chars:
        return f'<td title="{escape(text, 2000)}">{escape(text, max_chars)}</td>'
    return f"<td>{escape(text)}</td>"


def table_html(
    df: pl.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    max_rows: int = 50,
    max_chars: int = 120,
    caption: str | None = None,
) -> str:
    """An HTML ``<table>`` of a polars frame with every header and cell escaped.

    Parameters
    ----------
    df
        The frame to show.
    columns
        Columns to show, in order (default: all).
    max_rows
        Show at most this many rows; a caption says how many were left out.
    max_chars
        Cut longer cells (the full text, escaped, is in the cell's ``title``).
    caption
        Optional caption text (escaped).

    Examples
    --------
    >>> html_text = table_html(pl.DataFrame({"a": ["<b>"]}))
    >>> "<td>&lt;b&gt;</td>" in html_text
    True
    """
    if not isinstance(df, pl.DataFrame):
        raise InputError(
            f"table() needs a polars DataFrame, got {type(df).__name__}. "
            "Call .collect() on a LazyFrame or pl.DataFrame(...) on other data first."
        )
    if columns is not None:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise InputError(f"table(): no column(s) {missing} in the frame; it has {df.columns}.")
        df = df.select(columns)
    shown = df.head(max_rows)
    notes = []
    if caption:
        notes.append(escape(caption))
    if df.height > max_rows:
        notes.append(f"showing {max_rows:,} of {df.height:,} rows")
    elif df.height == 0:
        notes.append("no rows")
    parts = [_TABLE_CSS, '<div class="trailkit-table-box"><table class="trailkit-table">']
    if notes:
        parts.append(f"<caption>{' — '.join(notes)}</caption>")
    parts.append("<thead><tr>")
    parts.extend(f"<th>{escape(c)}</th>" for c in shown.columns)
    parts.append("</tr></thead><tbody>")
    for row in shown.iter_rows():
        parts.append("<tr>" + "".join(_cell(v, max_chars) for v in row) + "</tr>")
    parts.append("</tbody></table></div>")
    return "".join(parts)


def table(
    df: pl.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    max_rows: int = 50,
    max_chars: int = 120,
    caption: str | None = None,
) -> SafeHTML:
    """Show a polars frame as an escaped HTML table (safe in notebooks and exports).

    Same parameters as :func:`table_html`; returns an object that notebooks display.

    Examples
    --------
    >>> t = table(pl.DataFrame({"actor": ["alice"], "n": [3]}))
    >>> t.html.count("<tr>")
    2
    """
    text = table_html(df, columns=columns, max_rows=max_rows, max_chars=max_chars, caption=caption)
    plain = repr(df.select(columns) if columns else df)
    return SafeHTML(text, plain)


def key_values(items: Mapping[str, Any], *, caption: str | None = None) -> SafeHTML:
    """Show a few named values as a two-column escaped table.

    Examples
    --------
    >>> "&lt;x&gt;" in key_values({"who": "<x>"}).html
    True
    """
    frame = pl.DataFrame(
        {"what": list(items.keys()), "value": [clean_text(v) for v in items.values()]},
        schema={"what": pl.String, "value": pl.String},
    )
    return table(frame, caption=caption, max_chars=200)


#: how :func:`event_card` groups the normalised columns (the questions CloudTrail answers).
CARD_GROUPS: dict[str, tuple[str, ...]] = {
    "who": (
        "actor",
        "identity_type",
        "principal_arn",
        "account_id",
        "access_key_id",
        "user_name",
        "role_name",
        "session_name",
        "mfa_authenticated",
        "invoked_by",
    ),
    "what": ("event_name", "event_source", "event_type", "read_only", "management_event"),
    "when": ("event_time",),
    "which resource": ("request_parameters", "resources"),
    "from where": ("source_ip", "user_agent", "vpc_endpoint_id"),
    "which region / account": ("aws_region", "recipient_account_id"),
    "outcome": ("success", "error_code", "error_message", "response_elements"),
    "evidence": ("event_id", "source_file"),
}


def event_card(events: pl.DataFrame, index: int = 0, *, max_chars: int = 300) -> SafeHTML:
    """One event shown vertically, grouped as who / what / when / which resource / from where.

    Parameters
    ----------
    events
        Normalised events.
    index
        Row to show.
    max_chars
        Cut longer values (request parameters can be long).

    Examples
    --------
    >>> ev = pl.DataFrame({"event_name": ["DeleteBucket"], "actor": ["<b>x</b>"]})
    >>> card = event_card(ev)
    >>> "&lt;b&gt;x&lt;/b&gt;" in card.html and "who" in card.html
    True
    """
    if not isinstance(events, pl.DataFrame) or events.height == 0:
        return SafeHTML("<p>(no event to show)</p>", "(no event to show)")
    if not -events.height <= index < events.height:
        raise InputError(f"event_card(index={index}): the frame has {events.height} rows.")
    row = events.row(index, named=True)
    groups, fields, values = [], [], []
    for group, columns in CARD_GROUPS.items():
        for column in columns:
            if column in row and row[column] is not None:
                groups.append(group)
                fields.append(column)
                values.append(clean_text(row[column], max_chars))
    frame = pl.DataFrame(
        {"question": groups, "column": fields, "value": values},
        schema={"question": pl.String, "column": pl.String, "value": pl.String},
    )
    return table(frame, max_rows=len(fields) or 1, max_chars=max_chars, caption="one event")


def code_block(text: str, language: str = "") -> Any:
    """Show text as a fenced Markdown code block (a policy, a CLI command): never as markup.

    Examples
    --------
    >>> code_block('{"a": 1}', "json").data.splitlines()[0]
    '```json'
    """
    from IPython.display import Markdown

    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    lang = re.sub(r"[^A-Za-z0-9_+-]", "", language)
    return Markdown(f"{fence}{lang}\n{text}\n{fence}")


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, pl.Series):
        return [_jsonable(v) for v in value.to_list()]
    return str(value)


class Answers(SafeHTML):
    """A notebook's key answers: shown as a small table, recorded as JSON for CI.

    Examples
    --------
    >>> a = Answers({"deleted_by": "alice"})
    >>> a._repr_mimebundle_()[ANSWER_MIME]
    {'deleted_by': 'alice'}
    """

    def __init__(self, values: Mapping[str, Any]):
        self.values = {str(k): _jsonable(v) for k, v in values.items()}
        shown = {
            k: ", ".join(map(str, v)) if isinstance(v, list) else v for k, v in self.values.items()
        }
        super().__init__(key_values(shown, caption="key answers").html, f"answers: {self.values!r}")

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return {"text/html": self.html, "text/plain": self.plain, ANSWER_MIME: self.values}


def answers(**values: Any) -> Answers:
    """Show a notebook's key answers and record them (CI reads them from the outputs).

    Values may be text, numbers, booleans, datetimes or lists of those.

    Examples
    --------
    >>> answers(deleted_by="alice", events=3).values
    {'deleted_by': 'alice', 'events': 3}
    """
    return Answers(values)


def recorded_answers(notebook: Any) -> dict[str, Any]:
    """Collect the answers recorded with :func:`answers` in an executed notebook.

    Parameters
    ----------
    notebook
        An ``nbformat`` notebook node (or a dict of the same shape).

    Examples
    --------
    >>> nb = {"cells": [{"cell_type": "code", "outputs": [
    ...     {"output_type": "display_data", "data": {ANSWER_MIME: {"x": 1}}}]}]}
    >>> recorded_answers(nb)
    {'x': 1}
    """
    found: dict[str, Any] = {}
    for cell in notebook["cells"]:
        for out in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            data = out.get("data", {})
            if ANSWER_MIME in data:
                found.update(data[ANSWER_MIME])
    return found


# -- charts -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _vega_bundle() -> str:
    vlc = require("vl_convert", "notebooks")
    from altair.utils.html import vl_version_for_vl_convert

    bundle = vlc.javascript_bundle(vl_version=vl_version_for_vl_convert())
    if "</script" in bundle.lower():  # pragma: no cover - would break the inline <script>
        raise RuntimeError("the vega bundle contains '</script'; cannot inline it safely")
    return bundle


def _script_json(value: Any) -> str:
    """JSON that is safe inside an HTML ``<script>`` element (no ``</script>`` break-out)."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _png_size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])
    return width, height


#: scale of the PNG against the chart's own pixel size (2 = sharp on high-DPI screens)
PNG_SCALE = 2.0

_EMBED_JS = """<script type="text/javascript">
(function () {
  var box = document.getElementById(%(id)s);
  if (!box && document.currentScript) { box = document.currentScript.previousElementSibling; }
  if (!box) { return; }
  if (!window.vegaEmbed) {
    (function () {
%(bundle)s
    })();
  }
  var escapeText = function (value) {
    return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  };
  var spec = %(spec)s;
  var target = box.querySelector(".trailkit-chart-live");
  window.vegaEmbed(target, spec, {
    mode: "vega-lite",
    renderer: "svg",
    actions: {export: true, source: false, compiled: false, editor: false},
    tooltip: {theme: "light", sanitize: escapeText}
  }).then(function () {
    var img = box.querySelector("img.trailkit-chart-png");
    if (img) { img.remove(); }
  }).catch(function (err) { console.error("trailkit chart:", err); });
})();
</script>"""


def chart_png(spec: Mapping[str, Any] | Any, *, scale: float = PNG_SCALE) -> bytes:
    """Render a Vega-Lite spec (or an altair chart) to PNG bytes with vl-convert, offline.

    Examples
    --------
    >>> png = chart_png({"mark": "point", "data": {"values": [{"x": 1}]},
    ...                  "encoding": {"x": {"field": "x", "type": "quantitative"}}})
    >>> png[:4]
    b'\\x89PNG'
    """
    vlc = require("vl_convert", "notebooks")
    from altair.utils.html import vl_version_for_vl_convert

    if hasattr(spec, "to_dict"):
        spec = spec.to_dict()
    return vlc.vegalite_to_png(dict(spec), scale=scale, vl_version=vl_version_for_vl_convert())


def chart_mimebundle(
    spec: Mapping[str, Any] | Any, *, charts: ChartMode | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The notebook output for a chart: PNG, plus interactive HTML unless ``charts="png"``.

    The HTML holds the PNG as an ``<img>`` and a script (Vega, Vega-Lite and vega-embed
    inline, about 0.9 MB) that swaps in the interactive chart. Where scripts may not run (a
    reopened, untrusted notebook; GitHub) the sanitiser removes the script and the PNG stays.
    The spec is written into the script with ``<``, ``>`` and ``&`` escaped, and tooltips
    escape their text, so attacker-controlled strings in the data stay text.

    Parameters
    ----------
    spec
        A Vega-Lite spec dict or an altair chart.
    charts
        "interactive" or "png"; default from the ``TRAILKIT_CHARTS`` environment variable,
        else "interactive".

    Examples
    --------
    >>> bundle, meta = chart_mimebundle({"mark": "point", "data": {"values": [{"x": 1}]},
    ...     "encoding": {"x": {"field": "x", "type": "quantitative"}}}, charts="png")
    >>> sorted(bundle)
    ['image/png', 'text/plain']
    """
    if hasattr(spec, "to_dict"):
        spec = spec.to_dict()
    spec = dict(spec)
    mode = charts or chart_mode()
    png = chart_png(spec)
    width, height = _png_size(png)
    width, height = round(width / PNG_SCALE), round(height / PNG_SCALE)
    b64 = base64.b64encode(png).decode("ascii")
    title = spec.get("title")
    if isinstance(title, Mapping):
        title = title.get("text")
    if isinstance(title, list):
        title = " ".join(map(str, title))
    label = clean_text(title or "chart", 200)
    bundle: dict[str, Any] = {
        "image/png": b64,
        "text/plain": f"<trailkit chart: {label}>",
    }
    meta: dict[str, Any] = {"image/png": {"width": width, "height": height}}
    if mode == "interactive":
        box_id = f"trailkit-chart-{uuid.uuid4().hex}"
        img = (
            f'<img class="trailkit-chart-png" src="data:image/png;base64,{b64}" '
            f'width="{width}" alt="{escape(label)}" style="max-width:100%;height:auto">'
        )
        script = _EMBED_JS % {
            "id": _script_json(box_id),
            "bundle": _vega_bundle(),
            "spec": _script_json(spec),
        }
        bundle["text/html"] = (
            f'<div class="trailkit-chart" id="{box_id}">{img}'
            f'<div class="trailkit-chart-live"></div></div>\n{script}'
        )
    return bundle, meta


def chart_mode() -> ChartMode:
    """The chart mode from ``TRAILKIT_CHARTS`` ("interactive", the default, or "png").

    Examples
    --------
    >>> chart_mode() in ("interactive", "png")
    True
    """
    value = os.environ.get("TRAILKIT_CHARTS", "interactive").strip().lower() or "interactive"
    if value not in ("interactive", "png"):
        raise InputError(
            f"TRAILKIT_CHARTS={value!r} is not a chart mode; use 'interactive' or 'png'."
        )
    return value  # type: ignore[return-value]


def _altair_renderer(spec: dict, **metadata: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    return chart_mimebundle(spec, charts=metadata.get("charts"))


class ChartOutput:
    """A chart shown with :func:`chart_mimebundle`, independent of altair's renderer setting.

    Examples
    --------
    >>> out = ChartOutput({"mark": "point", "data": {"values": [{"x": 1}]},
    ...     "encoding": {"x": {"field": "x", "type": "quantitative"}}}, charts="png")
    >>> "image/png" in out._repr_mimebundle_()[0]
    True
    """

    def __init__(self, chart: Any, charts: ChartMode | None = None):
        self.chart = chart
        self.charts = charts

    def _repr_mimebundle_(self, include=None, exclude=None):
        return chart_mimebundle(self.chart, charts=self.charts)


def show_chart(chart: Any, charts: ChartMode | None = None) -> ChartOutput:
    """Wrap a chart so it displays as PNG (+ interactive HTML) whatever altair is set to.

    Examples
    --------
    >>> show_chart({"mark": "point"}).charts is None
    True
    """
    return ChartOutput(chart, charts)


def _polars_html(df: pl.DataFrame, max_rows: int = 20) -> str:
    shown = df.head(max_rows)
    empty = (
        [c for c in shown.columns if shown[c].null_count() == shown.height] if shown.height else []
    )
    caption = None
    if empty and len(empty) < len(shown.columns):
        caption = f"{len(empty)} columns that are null in these rows are not shown"
        df = df.drop(empty)
    return table_html(df, max_rows=max_rows, caption=caption)


def setup_notebook(charts: ChartMode | None = None, *, tables: bool = True) -> None:
    """Make a notebook's output safe and offline: call once at the top of every notebook.

    - altair charts render through :func:`chart_mimebundle` (PNG everywhere, interactive
      where scripts may run; no CDN);
    - with ``tables=True`` a polars frame left as a cell's last value is shown through
      :func:`table_html` (escaped) instead of polars' own HTML.

    Parameters
    ----------
    charts
        "interactive" (default, or ``TRAILKIT_CHARTS``) or "png" for small files.
    tables
        Replace polars' HTML output with trailkit's escaped table.

    Examples
    --------
    >>> setup_notebook(charts="png")  # doctest: +SKIP
    """
    alt = require("altair", "notebooks")
    if charts is not None and charts not in ("interactive", "png"):
        raise InputError(f"setup_notebook(charts={charts!r}): use 'interactive' or 'png'.")
    if "trailkit" not in alt.renderers.names():
        alt.renderers.register("trailkit", _altair_renderer)
    options = {"charts": charts} if charts else {}
    alt.renderers.enable("trailkit", **options)
    if tables:
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover
            return
        shell = get_ipython()
        if shell is not None:
            formatter = shell.display_formatter.formatters["text/html"]
            formatter.for_type(pl.DataFrame, _polars_html)
