"""An exported report in a real browser (headless Chromium), with attacker-controlled text.

The logs hold a record whose ``userAgent``, user name and bucket name are
``<img src=x onerror=alert(1)>``. The report must show that text literally — in tables, in
the answer sentence, in chart tooltips and in the widget snapshot — run no script from it,
and load nothing from the network. Needs Debian's ``chromium`` and the ``playwright``
Python package (never ``playwright install``); skipped when either is missing.

Set ``TRAILKIT_SCREENSHOTS=<folder>`` to keep the screenshots.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("altair")
sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)"
)

import trailkit  # noqa: E402
from trailkit import report  # noqa: E402

XSS = "<img src=x onerror=alert(1)>"

RECORDS = [
    {
        "eventVersion": "1.08",
        "eventTime": "2026-03-10T09:00:00Z",
        "eventID": "xss-1",
        "eventName": "ListBuckets",
        "eventSource": "s3.amazonaws.com",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9",
        "userAgent": XSS,
        "userIdentity": {
            "type": "IAMUser",
            "userName": XSS,
            "arn": "arn:aws:iam::111122223333:user/x",
            "accountId": "111122223333",
            "principalId": "AIDAEXAMPLE",
            "accessKeyId": "AKIAEXAMPLE",
        },
        "recipientAccountId": "111122223333",
    },
    {
        "eventVersion": "1.08",
        "eventTime": "2026-03-10T09:05:00Z",
        "eventID": "xss-2",
        "eventName": "DeleteBucket",
        "eventSource": "s3.amazonaws.com",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9",
        "userAgent": XSS,
        "errorMessage": "",
        "requestParameters": {"bucketName": XSS},
        "userIdentity": {
            "type": "IAMUser",
            "userName": XSS,
            "arn": "arn:aws:iam::111122223333:user/x",
            "accountId": "111122223333",
            "principalId": "AIDAEXAMPLE",
            "accessKeyId": "AKIAEXAMPLE",
        },
        "recipientAccountId": "111122223333",
    },
]


@pytest.fixture(scope="module")
def xss_report(tmp_path_factory) -> Path:
    """Executed + exported report of a notebook over the XSS records."""
    folder = tmp_path_factory.mktemp("xss")
    logs = folder / "logs.json"
    import json

    logs.write_text(json.dumps({"Records": RECORDS}))
    code = nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# XSS check"),
            code('LOGS = "logs.json"', metadata={"tags": ["parameters"]}),
            code(
                "import polars as pl\nimport trailkit\n"
                "from trailkit import charts, display, narrative, widgets\ndisplay.setup_notebook()"
            ),
            code(
                "events = trailkit.read_events(LOGS)\nhistory = trailkit.who_deleted_bucket(events)"
            ),
            code("narrative.explain_bucket_deletion(history)"),
            code(
                "display.table(events, columns=['event_time', 'actor', 'event_name', 'user_agent'])"
            ),
            code("events.select('actor', 'user_agent')  # polars frame through the safe formatter"),
            code("display.event_card(events, 1)"),
            code("charts.chart_bucket_history(history)"),
            code("charts.chart_timeline(events, highlight=history)"),
            code("display.answers(**narrative.answers_bucket_deletion(history))"),
            code("widgets.explorer(events)"),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / "xss.ipynb"
    nbformat.write(nb, path)
    (run,) = report.build_report(path, folder / "out", logs=logs)
    assert run.ok, run.error
    assert run.answers["person"] == XSS  # the data itself is unchanged
    return run.html


def _shot(
    page, name: str, tmp_path: Path, clip: dict | None = None, full_page: bool = True
) -> Path:
    folder = Path(os.environ.get("TRAILKIT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.screenshot(path=str(path), full_page=full_page, clip=clip)
    return path


def _page_box(page, first: int, last: int) -> dict:
    """Page coordinates of notebook cells first..last (for a full-page clip)."""
    return page.evaluate(
        """([first, last]) => {
            const cells = document.querySelectorAll('.jp-Cell');
            const a = cells[first].getBoundingClientRect(), b = cells[last].getBoundingClientRect();
            return {x: 0, y: a.top + window.scrollY, width: 1200, height: b.bottom - a.top};
        }""",
        [first, last],
    )


def test_exported_report_runs_no_injected_script(xss_report, tmp_path):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            dialogs: list[str] = []
            network: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

            def block(route):
                network.append(route.request.url)
                route.abort()

            page.route("http://**", block)
            page.route("https://**", block)
            page.goto(xss_report.as_uri())
            page.wait_for_function(
                "() => document.querySelectorAll('.trailkit-chart-live svg.marks').length >= 2",
                timeout=30_000,
            )
            page.wait_for_timeout(500)

            # nothing ran, nothing was fetched
            assert dialogs == []
            assert network == []
            assert (
                page.evaluate("() => document.querySelectorAll('img[src=\"x\"], [onerror]').length")
                == 0
            )

            # the payload is shown as text: table, sentence, event card, answers, snapshot
            body = page.inner_text("body")
            assert body.count(XSS) >= 6
            assert "was deleted on 2026-03-10" in body

            # interactive charts replaced their PNG fallbacks
            assert page.locator("img.trailkit-chart-png").count() == 0

            # chart tooltips show the payload as text too
            point = page.locator(".trailkit-chart-live svg.marks g.mark-symbol path").first
            point.hover(force=True)
            tooltip = page.locator("#vg-tooltip-element")
            tooltip.wait_for(state="visible", timeout=5_000)
            assert XSS in tooltip.inner_text()
            assert tooltip.locator("img").count() == 0
            page.wait_for_timeout(300)
            assert dialogs == []
            # keep pictures: the hovered chart with its tooltip (viewport), and the text parts
            shot = _shot(page, "report-xss-tooltip.png", tmp_path, full_page=False)
            _shot(page, "report-xss-escaped.png", tmp_path, clip=_page_box(page, 6, 9))
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()


def test_static_png_report_shows_its_charts(xss_report, tmp_path):
    """With scripts disabled (like a mail client's preview), the PNG charts still show."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            context = browser.new_context(
                java_script_enabled=False, viewport={"width": 1200, "height": 900}
            )
            page = context.new_page()
            page.goto(xss_report.as_uri())
            images = page.locator("img.trailkit-chart-png")
            assert images.count() >= 2
            widths = page.evaluate(
                "() => Array.from(document.querySelectorAll('img.trailkit-chart-png')).map(i => i.naturalWidth)"
            )
            assert all(w > 100 for w in widths)
            _shot(
                page,
                "report-no-javascript-png-fallback.png",
                tmp_path,
                clip=_page_box(page, 10, 11),
            )
        finally:
            browser.close()


def test_trailkit_imports_without_browser_deps():
    assert trailkit.__version__
