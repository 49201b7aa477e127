"""Run the investigation notebooks on a log source and write files an analyst can send.

``trailkit report notebooks/ --logs path/to/logs --out reports/`` executes each notebook
headless (the log source is injected after the cell tagged ``parameters``, the way papermill
does it), then writes the executed ``.ipynb`` and a self-contained ``.html`` beside it:

- charts are a PNG plus an inline interactive version (see :mod:`trailkit.display`), so the
  HTML needs no internet;
- MathJax, require.js, the widget manager and mermaid, which nbconvert would load from CDNs,
  are left out; widgets are replaced by the static snapshot they carry;
- :func:`offline_problems` checks the written HTML for any remaining external
  ``<script>``, ``<link>``, ``<img>`` or ``<iframe>`` reference.

Examples
--------
>>> from trailkit.report import offline_problems
>>> offline_problems('<script src="https://cdn.example/x.js"></script>')
['<script src="https://cdn.example/x.js">']
"""

from __future__ import annotations

import ast
import contextlib
import copy
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trailkit.errors import InputError, TrailkitError, require

#: the tag of the cell that holds a notebook's parameters (as in papermill).
PARAMETERS_TAG = "parameters"
#: the tag of the cell trailkit inserts with the injected values.
INJECTED_TAG = "injected-parameters"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"

# nbconvert's "lab" template without the blocks that load JavaScript from CDNs.
_OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""

_EXTERNAL = re.compile(
    r"""<(?:script|link|img|iframe|embed|source|object)\b[^>]*?\s(?:src|href|data)\s*=\s*["']?\s*(?:https?:)?//[^>]*>""",
    re.IGNORECASE,
)
_CSS_IMPORT = re.compile(r"""@import\s+(?:url\()?["']?(?:https?:)?//[^;]*;""", re.IGNORECASE)


class ReportError(TrailkitError):
    """A notebook could not be run or exported."""


@dataclass
class NotebookRun:
    """What happened to one notebook in :func:`build_report`."""

    notebook: Path
    executed: Path | None = None
    html: Path | None = None
    seconds: float = 0.0
    error: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the notebook ran without an error."""
        return self.error is None


# -- parameters -------------------------------------------------------------------------------


def parse_parameter(text: str) -> tuple[str, Any]:
    """Parse ``NAME=VALUE`` from the command line; VALUE is a Python literal or plain text.

    Examples
    --------
    >>> parse_parameter("TOP=5")
    ('TOP', 5)
    >>> parse_parameter("BUCKET=my-bucket")
    ('BUCKET', 'my-bucket')
    """
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise InputError(
            f"parameter {text!r} is not NAME=VALUE; write for example -p BUCKET=my-bucket or -p TOP=5."
        )
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        parsed = value
    return name, parsed


def _literal(name: str, value: Any) -> str:
    if isinstance(value, Path):
        value = str(value)
    text = repr(value)
    try:
        if ast.literal_eval(text) != value:
            raise ValueError
    except (ValueError, SyntaxError):
        raise InputError(
            f"parameter {name}={value!r}: only text, numbers, booleans, None and lists/dicts of "
            "those can be injected into a notebook."
        ) from None
    return text


def inject_parameters(nb: Any, parameters: Mapping[str, Any]) -> Any:
    """Insert a cell tagged ``injected-parameters`` after the ``parameters`` cell.

    The new cell assigns each parameter, so it overrides the notebook's defaults; an old
    injected cell is replaced. Without a ``parameters`` cell the values go first.

    Parameters
    ----------
    nb
        An nbformat notebook (changed in place and returned).
    parameters
        Name → value (text, numbers, booleans, None, lists or dicts of those).

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
    ...     'LOGS = "../data/samples"', metadata={"tags": ["parameters"]})])
    >>> inject_parameters(nb, {"LOGS": "/tmp/logs"}).cells[1].source
    "# Parameters injected by trailkit report\\nLOGS = '/tmp/logs'"
    """
    nbformat = require("nbformat", "notebooks")
    if not parameters:
        return nb
    lines = ["# Parameters injected by trailkit report"]
    lines += [f"{name} = {_literal(name, value)}" for name, value in parameters.items()]
    cell = nbformat.v4.new_code_cell("\n".join(lines), metadata={"tags": [INJECTED_TAG]})
    cells = [c for c in nb.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    where = 0
    for i, c in enumerate(cells):
        if PARAMETERS_TAG in c.get("metadata", {}).get("tags", []):
            where = i + 1
            break
    cells.insert(where, cell)
    nb.cells = cells
    return nb


# -- executing --------------------------------------------------------------------------------


@contextlib.contextmanager
def _kernel_env(charts: str | None) -> Iterator[None]:
    """Environment for the kernel: trailkit importable, chart mode set."""
    import trailkit

    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "TRAILKIT_CHARTS")}
    root = str(Path(trailkit.__file__).resolve().parent.parent)
    paths = [p for p in (saved["PYTHONPATH"] or "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join([root, *[p for p in paths if p != root]])
    if charts:
        os.environ["TRAILKIT_CHARTS"] = charts
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def execute_notebook(
    path: str | os.PathLike,
    *,
    parameters: Mapping[str, Any] | None = None,
    cwd: str | os.PathLike | None = None,
    timeout: int = 600,
    kernel_name: str = "python3",
    charts: str | None = None,
    raise_on_error: bool = True,
) -> Any:
    """Execute a notebook headless with nbclient and return the executed notebook.

    Parameters
    ----------
    path
        The ``.ipynb`` file.
    parameters
        Values injected after the ``parameters`` cell (see :func:`inject_parameters`).
    cwd
        Working directory of the kernel (default: the notebook's folder, so relative paths
        in the notebook work as they do in JupyterLab).
    timeout
        Seconds allowed per cell.
    kernel_name
        Jupyter kernel to use.
    charts
        "interactive" or "png" (sets ``TRAILKIT_CHARTS`` for the kernel).
    raise_on_error
        Raise :class:`ReportError` when a cell fails (the partly executed notebook is in the
        exception's ``notebook`` attribute); otherwise return it with the error output.

    Examples
    --------
    >>> nb = execute_notebook("notebooks/00-start-here.ipynb")  # doctest: +SKIP
    """
    nbformat = require("nbformat", "notebooks")
    nbclient = require("nbclient", "notebooks")
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"{path}: no such notebook. Give the path of an .ipynb file or a folder of them."
        )
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several kinds
        raise InputError(f"{path}: not a readable notebook ({exc}). Is it an .ipynb file?") from exc
    inject_parameters(nb, dict(parameters or {}))
    client = nbclient.NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(Path(cwd) if cwd else path.parent.resolve())}},
        store_widget_state=True,
    )
    with _kernel_env(charts):
        try:
            client.execute()
        except nbclient.exceptions.CellExecutionError as exc:
            if raise_on_error:
                err = ReportError(f"{path}: a cell failed:\n{_short_error(exc)}")
                err.notebook = nb  # type: ignore[attr-defined]
                raise err from None
            nb.metadata["trailkit_error"] = _short_error(exc)
    return nb


def _short_error(exc: BaseException) -> str:
    text = str(exc)
    ansi = re.compile(r"\x1b\[[0-9;]*m")
    text = ansi.sub("", text)
    lines = text.strip().splitlines()
    return "\n".join(lines[-25:])


# -- exporting --------------------------------------------------------------------------------


def prepare_for_export(nb: Any) -> Any:
    """A copy of ``nb`` ready for a static HTML file: widgets become their snapshots.

    An output that carries a widget view and a ``text/html`` snapshot keeps the snapshot;
    a bare widget view becomes a short note. The saved widget state is dropped, so
    nbconvert does not add the CDN-hosted widget manager.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[
    ...     nbformat.v4.new_output("display_data", data={
    ...         WIDGET_VIEW_MIME: {"model_id": "x"}, "text/plain": "VBox()"})])])
    >>> prepare_for_export(nb).cells[0].outputs[0].data["text/plain"][:20]
    '(interactive widget:'
    """
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            data = out.get("data")
            if not data or WIDGET_VIEW_MIME not in data:
                continue
            del data[WIDGET_VIEW_MIME]
            if "text/html" not in data and "image/png" not in data:
                data.clear()
                data["text/plain"] = "(interactive widget: open the .ipynb in JupyterLab to use it)"
    return nb


def export_html(nb: Any, *, include_code: bool = True, title: str | None = None) -> str:
    """Export an executed notebook to one self-contained HTML page (no CDN, no internet).

    Parameters
    ----------
    nb
        An executed nbformat notebook.
    include_code
        Show the code cells (default) or only the prose and the outputs.
    title
        The page title (default: the notebook's metadata title, else "trailkit report").

    Examples
    --------
    >>> import nbformat
    >>> page = export_html(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Hi")]))
    >>> offline_problems(page)
    []
    """
    jinja2 = require("jinja2", "notebooks")
    nbconvert = require("nbconvert", "notebooks")
    nb = prepare_for_export(nb)
    if title:
        nb.metadata["title"] = title
    nb.metadata.setdefault("title", "trailkit report")
    exporter = nbconvert.HTMLExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"trailkit_offline.html.j2": _OFFLINE_TEMPLATE})],
        template_file="trailkit_offline.html.j2",
        embed_images=True,
        exclude_input=not include_code,
        exclude_input_prompt=not include_code,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(nb)
    return body


def offline_problems(html_text: str) -> list[str]:
    """Tags in an HTML page that would fetch something from the network.

    Looks for ``<script src>``, ``<link href>``, ``<img src>``, ``<iframe src>`` and similar
    pointing at ``http(s)://`` or ``//``, and for CSS ``@import`` of remote files. Plain
    links (``<a href>``) are fine: they load nothing by themselves.

    Examples
    --------
    >>> offline_problems('<img src="data:image/png;base64,AAA"><a href="https://aws.amazon.com">x</a>')
    []
    """
    return [m.group(0) for m in _EXTERNAL.finditer(html_text)] + [
        m.group(0) for m in _CSS_IMPORT.finditer(html_text)
    ]


# -- the report -------------------------------------------------------------------------------


def find_notebooks(paths: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """The notebooks named by ``paths`` (files, or folders searched non-recursively), sorted.

    Examples
    --------
    >>> [p.name for p in find_notebooks("notebooks")][:1]  # doctest: +SKIP
    ['00-start-here.ipynb']
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(x for x in p.glob("*.ipynb") if not x.name.startswith("."))
        elif p.is_file() and p.suffix == ".ipynb":
            found.append(p)
        else:
            raise InputError(
                f"{p}: not a notebook or a folder of notebooks. Give e.g. notebooks/ or notebooks/01-who-deleted-the-bucket.ipynb."
            )
    if not found:
        raise InputError(f"no .ipynb files in {', '.join(map(str, paths))}.")
    return found


def _banner(nb: Any, source: str | None, parameters: Mapping[str, Any]) -> None:
    from trailkit.display import md_code

    nbformat = require("nbformat", "notebooks")
    import trailkit

    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"*Report generated by trailkit {trailkit.__version__} on {stamp}"]
    if source:
        lines[0] += f" from {md_code(source)}"
    lines[0] += ".*"
    others = {k: v for k, v in parameters.items() if k != "LOGS"}
    if others:
        lines.append(
            "Parameters: " + ", ".join(f"{k} = {md_code(repr(v))}" for k, v in others.items())
        )
    nb.cells.insert(
        0, nbformat.v4.new_markdown_cell("\n\n".join(lines), metadata={"tags": ["trailkit-banner"]})
    )


def build_report(
    notebooks: str | os.PathLike | Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    logs: str | os.PathLike | None = None,
    parameters: Mapping[str, Any] | None = None,
    timeout: int = 600,
    charts: str | None = None,
    include_code: bool = True,
    progress: Any = None,
) -> list[NotebookRun]:
    """Execute notebooks against a log source; write executed ``.ipynb`` and offline ``.html``.

    Parameters
    ----------
    notebooks
        Notebook files or folders of them.
    out_dir
        Where to write ``<name>.ipynb`` and ``<name>.html`` (created if missing).
    logs
        Log source for the notebooks' ``LOGS`` parameter (a file, folder or glob); made
        absolute before it is injected. Default: each notebook's own default (the samples).
    parameters
        Further parameters to inject (e.g. ``{"BUCKET": "payroll-exports"}``).
    timeout
        Seconds allowed per cell.
    charts
        "interactive" (default) or "png" (much smaller files, no tooltips).
    include_code
        Keep the code cells in the HTML.
    progress
        Callable taking one line of text, for progress messages (e.g. ``print``).

    Returns
    -------
    list of NotebookRun
        One per notebook; ``error`` is set when a cell failed (its files are still written).

    Examples
    --------
    >>> runs = build_report("notebooks", "reports")  # doctest: +SKIP
    >>> all(r.ok for r in runs)  # doctest: +SKIP
    True
    """
    nbformat = require("nbformat", "notebooks")
    from trailkit.display import recorded_answers

    say = progress or (lambda _line: None)
    paths = find_notebooks(notebooks)
    params = dict(parameters or {})
    source = None
    if logs is not None:
        source = str(logs)
        # a local file, folder or glob: made absolute, as the kernel runs in the notebook folder
        if "://" not in source:
            globbed = any(ch in source for ch in "*?[")
            source = os.path.abspath(os.path.expanduser(source))
            if not globbed and not os.path.exists(source):
                raise InputError(
                    f"--logs {logs}: no such file or folder. Give the folder of your CloudTrail log files."
                )
        params["LOGS"] = source
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs: list[NotebookRun] = []
    for path in paths:
        run = NotebookRun(notebook=path)
        say(f"running {path} ...")
        started = time.perf_counter()
        try:
            nb = execute_notebook(
                path, parameters=params, timeout=timeout, charts=charts, raise_on_error=False
            )
        except InputError as exc:
            run.error = str(exc)
            runs.append(run)
            say(f"  failed: {exc}")
            continue
        run.seconds = time.perf_counter() - started
        run.error = nb.metadata.pop("trailkit_error", None)
        run.answers = recorded_answers(nb)
        _banner(nb, source, {k: v for k, v in params.items()})
        run.executed = out / path.name
        nbformat.write(nb, run.executed)
        page = export_html(nb, include_code=include_code, title=path.stem)
        problems = offline_problems(page)
        if problems:  # pragma: no cover - would be a bug in the template
            run.error = (run.error or "") + f"\nHTML would load from the network: {problems[:3]}"
        run.html = out / (path.stem + ".html")
        run.html.write_text(page, encoding="utf-8")
        state = "ok" if run.ok else "FAILED"
        size = run.html.stat().st_size / 1e6
        say(f"  {state} in {run.seconds:.1f}s -> {run.executed}, {run.html} ({size:.1f} MB)")
        if run.error:
            say("  " + run.error.replace("\n", "\n  "))
        runs.append(run)
    return runs


def report_main(argv: Sequence[str] | None = None) -> int:
    """``trailkit report``: the command-line entry (also used by :mod:`trailkit.cli`).

    Examples
    --------
    >>> report_main(["--help"])  # doctest: +SKIP
    """
    parser = make_parser()
    args = parser.parse_args(argv)
    return run_report_command(args)


def add_report_arguments(parser: Any) -> Any:
    """Add the ``report`` options to an argparse parser (shared with :mod:`trailkit.cli`)."""
    parser.add_argument(
        "notebooks",
        nargs="*",
        default=["notebooks"],
        help="notebooks or folders of them (default: notebooks/)",
    )
    parser.add_argument(
        "--logs",
        help="CloudTrail logs to investigate: a file, folder or glob (default: the bundled samples)",
    )
    parser.add_argument(
        "--out",
        default="reports",
        help="folder for the executed .ipynb and .html files (default: reports/)",
    )
    parser.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a notebook parameter, e.g. -p BUCKET=payroll-exports (repeatable)",
    )
    parser.add_argument(
        "--timeout", type=int, default=600, help="seconds allowed per cell (default 600)"
    )
    parser.add_argument(
        "--static-charts", action="store_true", help="PNG charts only (smaller files, no tooltips)"
    )
    parser.add_argument(
        "--no-code", action="store_true", help="leave the code cells out of the HTML"
    )
    return parser


def make_parser() -> Any:
    """The argparse parser of ``trailkit report``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="trailkit report",
        description="Execute investigation notebooks against CloudTrail logs and write executed "
        ".ipynb and self-contained .html files (they open offline and can be sent to someone).",
    )
    return add_report_arguments(parser)


def run_report_command(args: Any) -> int:
    """Run ``trailkit report`` from parsed arguments; returns the exit status."""
    try:
        params = dict(parse_parameter(p) for p in args.parameter)
        runs = build_report(
            args.notebooks,
            args.out,
            logs=args.logs,
            parameters=params,
            timeout=args.timeout,
            charts="png" if args.static_charts else None,
            include_code=not args.no_code,
            progress=lambda line: print(line, file=sys.stderr),
        )
    except InputError as exc:
        print(f"trailkit report: {exc}", file=sys.stderr)
        return 2
    failed = [r for r in runs if not r.ok]
    print(f"{len(runs) - len(failed)} of {len(runs)} notebooks ran; reports in {args.out}/")
    for r in runs:
        if r.html:
            print(f"  {r.html}")
    return 1 if failed else 0


def lab_main(argv: Sequence[str] | None = None) -> int:
    """``trailkit lab``: open JupyterLab on the investigation notebooks.

    Examples
    --------
    >>> lab_main(["--help"])  # doctest: +SKIP
    """
    import argparse

    parser = argparse.ArgumentParser(
        prog="trailkit lab", description="Open JupyterLab on the trailkit notebooks."
    )
    add_lab_arguments(parser)
    return run_lab_command(parser.parse_args(argv))


def add_lab_arguments(parser: Any) -> Any:
    """Add the ``lab`` options to an argparse parser (shared with :mod:`trailkit.cli`)."""
    parser.add_argument(
        "folder", nargs="?", default="notebooks", help="folder to open (default: notebooks/)"
    )
    parser.add_argument("--port", type=int, help="port for JupyterLab (default: its own, 8888)")
    parser.add_argument(
        "--no-browser", action="store_true", help="do not open a browser (print the URL)"
    )
    return parser


def lab_command(
    folder: str | os.PathLike, *, port: int | None = None, browser: bool = True
) -> list[str]:
    """The command line that starts JupyterLab on ``folder`` with this Python.

    Examples
    --------
    >>> lab_command("notebooks", port=8899, browser=False)[-2:]
    ['--port=8899', '--no-browser']
    """
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={Path(folder).resolve()}"]
    if port:
        cmd.append(f"--port={port}")
    if not browser:
        cmd.append("--no-browser")
    return cmd


def run_lab_command(args: Any) -> int:
    """Start JupyterLab on ``args.folder``; returns its exit status."""
    import subprocess

    require("jupyterlab", "notebooks")
    folder = Path(args.folder)
    if not folder.is_dir():
        print(
            f"trailkit lab: {folder} is not a folder; give the folder of notebooks, e.g. notebooks/.",
            file=sys.stderr,
        )
        return 2
    env = dict(os.environ)
    import trailkit

    root = str(Path(trailkit.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [root, env.get("PYTHONPATH", "")] if p)
    cmd = lab_command(folder, port=args.port, browser=not args.no_browser)
    print("starting:", " ".join(cmd), file=sys.stderr)
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 130
