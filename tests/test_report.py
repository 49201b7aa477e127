"""trailkit.report: parameter injection, headless execution, offline HTML, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("nbconvert")
pytest.importorskip("altair")

from trailkit import report  # noqa: E402
from trailkit.display import ANSWER_MIME  # noqa: E402
from trailkit.errors import InputError  # noqa: E402

XSS = "<img src=x onerror=alert(1)>"


def _notebook(path: Path, *cells) -> Path:
    nb = nbformat.v4.new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def _params(source: str):
    return nbformat.v4.new_code_cell(source, metadata={"tags": ["parameters"]})


@pytest.fixture(scope="module")
def small_notebook(tmp_path_factory) -> Path:
    """A notebook like the real ones: parameters, a chart, an escaped table, answers."""
    folder = tmp_path_factory.mktemp("nb")
    return _notebook(
        folder / "small.ipynb",
        nbformat.v4.new_markdown_cell("# Small"),
        _params('LOGS = "default"\nTOP = 3'),
        nbformat.v4.new_code_cell(
            "import polars as pl\nfrom trailkit import display\ndisplay.setup_notebook()\n"
            "import altair as alt"
        ),
        nbformat.v4.new_code_cell(
            f"df = pl.DataFrame({{'x': [1, 2, 3], 'ua': [{XSS!r}] * 3}})\n"
            "alt.Chart(df).mark_bar().encode(x='x:Q', tooltip='ua:N')"
        ),
        nbformat.v4.new_code_cell("display.table(df)"),
        nbformat.v4.new_code_cell("display.answers(logs=LOGS, top=TOP)"),
    )


# -- parameters -------------------------------------------------------------------------------


def test_parse_parameter():
    assert report.parse_parameter("TOP=5") == ("TOP", 5)
    assert report.parse_parameter("PORTS=[22, 3389]") == ("PORTS", [22, 3389])
    assert report.parse_parameter("BUCKET=my-bucket") == ("BUCKET", "my-bucket")
    assert report.parse_parameter("X=None") == ("X", None)
    with pytest.raises(InputError, match="NAME=VALUE"):
        report.parse_parameter("no-equals")
    with pytest.raises(InputError):
        report.parse_parameter("1X=2")


def test_inject_after_parameters_cell_and_replace_previous_injection():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("x"),
            _params("LOGS = 'a'"),
            nbformat.v4.new_code_cell("print(LOGS)"),
        ]
    )
    report.inject_parameters(nb, {"LOGS": "/tmp/b"})
    report.inject_parameters(nb, {"LOGS": "/tmp/c", "PORTS": [22]})
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert tags[2] == [report.INJECTED_TAG]
    assert sum(report.INJECTED_TAG in t for t in tags) == 1
    assert nb.cells[2].source.splitlines()[1:] == ["LOGS = '/tmp/c'", "PORTS = [22]"]


def test_inject_without_parameters_cell_goes_first():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    report.inject_parameters(nb, {"A": 1})
    assert nb.cells[0].source.endswith("A = 1")


def test_inject_refuses_code():
    nb = nbformat.v4.new_notebook(cells=[_params("A = 1")])
    with pytest.raises(InputError, match="only text, numbers"):
        report.inject_parameters(nb, {"A": object()})
    # a string that looks like code stays a string literal
    report.inject_parameters(nb, {"A": "__import__('os').system('x')"})
    assert nb.cells[1].source.endswith("A = \"__import__('os').system('x')\"")


# -- exporting --------------------------------------------------------------------------------


def test_prepare_for_export_keeps_snapshot_and_drops_widget_state():
    view = {"version_major": 2, "version_minor": 0, "model_id": "abc"}
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                outputs=[
                    nbformat.v4.new_output(
                        "display_data",
                        data={
                            report.WIDGET_VIEW_MIME: view,
                            "text/html": "<p>snapshot</p>",
                            "text/plain": "x",
                        },
                    ),
                    nbformat.v4.new_output("display_data", data={report.WIDGET_VIEW_MIME: view}),
                ]
            )
        ]
    )
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    out = report.prepare_for_export(nb)
    first, second = out.cells[0].outputs
    assert (
        report.WIDGET_VIEW_MIME not in first.data and first.data["text/html"] == "<p>snapshot</p>"
    )
    assert "open the .ipynb in JupyterLab" in second.data["text/plain"]
    assert "widgets" not in out.metadata
    assert "widgets" in nb.metadata  # the original is untouched


def test_offline_problems_finds_network_loads():
    page = """
    <script src="https://cdn.jsdelivr.net/npm/vega@5"></script>
    <script src='//cdn.example/x.js'></script>
    <link rel="stylesheet" href="http://fonts.example/a.css">
    <img src="https://example.com/pixel.gif">
    <style>@import url("https://fonts.googleapis.com/css");</style>
    <a href="https://docs.aws.amazon.com">docs</a>
    <script>var schema = "https://vega.github.io/schema/vega-lite/v6.json";</script>
    """
    found = report.offline_problems(page)
    assert len(found) == 5
    assert not any("docs.aws" in f or "vega.github.io" in f for f in found)


def test_export_of_empty_notebook_is_offline():
    page = report.export_html(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Hi")])
    )
    assert report.offline_problems(page) == []
    assert "MathJax" not in page and "require.js" not in page


# -- running ----------------------------------------------------------------------------------


def test_build_report_writes_executed_notebook_and_offline_html(small_notebook, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    runs = report.build_report(small_notebook, tmp_path / "out", logs=logs, parameters={"TOP": 7})
    (run,) = runs
    assert run.ok, run.error
    assert run.answers == {"logs": str(logs.resolve()), "top": 7}
    executed = nbformat.read(run.executed, as_version=4)
    nbformat.validate(executed)
    # the banner says where the data came from; the injected cell follows the parameters cell
    assert "Report generated by trailkit" in executed.cells[0].source
    assert report.INJECTED_TAG in executed.cells[3].metadata["tags"]
    page = run.html.read_text()
    assert report.offline_problems(page) == []
    assert XSS not in page  # every copy of the payload is escaped
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'class="trailkit-chart-png"' in page and "window.vegaEmbed" in page
    # answers are in the notebook as JSON, for CI
    assert any(
        ANSWER_MIME in o.get("data", {}) for c in executed.cells for o in c.get("outputs", [])
    )


def test_static_charts_are_png_only(small_notebook, tmp_path):
    (run,) = report.build_report(small_notebook, tmp_path, charts="png", include_code=False)
    page = run.html.read_text()
    assert "window.vegaEmbed" not in page
    assert "data:image/png;base64," in page
    assert "display.setup_notebook()" not in page  # no code cells
    assert run.html.stat().st_size < 300_000


def test_failing_notebook_still_writes_its_files(tmp_path):
    nb = _notebook(
        tmp_path / "broken.ipynb",
        _params("X = 1"),
        nbformat.v4.new_code_cell("raise ValueError('the logs are empty')"),
        nbformat.v4.new_code_cell("print('never')"),
    )
    (run,) = report.build_report(nb, tmp_path / "out")
    assert not run.ok
    assert "the logs are empty" in run.error
    assert run.executed.exists() and run.html.exists()
    assert "the logs are empty" in run.html.read_text()


def test_execute_notebook_raises_with_the_cell_error(tmp_path):
    nb = _notebook(tmp_path / "broken.ipynb", nbformat.v4.new_code_cell("1/0"))
    with pytest.raises(report.ReportError, match="ZeroDivisionError") as info:
        report.execute_notebook(nb)
    assert info.value.notebook.cells[0].outputs[0].output_type == "error"


def test_bad_inputs_name_the_fix(tmp_path):
    with pytest.raises(InputError, match="no .ipynb files"):
        report.find_notebooks(tmp_path)
    with pytest.raises(InputError, match="not a notebook"):
        report.find_notebooks(tmp_path / "missing")
    with pytest.raises(InputError, match="no such notebook"):
        report.execute_notebook(tmp_path / "missing.ipynb")
    nb = _notebook(tmp_path / "a.ipynb", nbformat.v4.new_code_cell("1"))
    with pytest.raises(InputError, match="no such file or folder"):
        report.build_report(nb, tmp_path / "out", logs=tmp_path / "nope")


def test_cli_report(small_notebook, tmp_path, capsys):
    from trailkit.cli import main

    code = main(
        ["report", str(small_notebook), "--out", str(tmp_path), "-p", "TOP=9", "--static-charts"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "1 of 1 notebooks ran" in out
    executed = nbformat.read(tmp_path / "small.ipynb", as_version=4)
    from trailkit.display import recorded_answers

    assert recorded_answers(executed)["top"] == 9
    assert (tmp_path / "small.html").exists()


def test_cli_report_bad_parameter(tmp_path, capsys):
    from trailkit.cli import main

    assert main(["report", str(tmp_path), "-p", "oops"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err


def test_lab_command_line():
    cmd = report.lab_command("notebooks", port=9999, browser=False)
    assert cmd[1:3] == ["-m", "jupyterlab"]
    assert cmd[-2:] == ["--port=9999", "--no-browser"]
    assert json.dumps(cmd)  # plain strings
