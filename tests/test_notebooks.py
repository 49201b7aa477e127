"""Every notebook in notebooks/ is stored clean and runs headless on the samples.

Each notebook is executed with nbclient (the same path ``trailkit report`` takes) without
touching a widget. The scenario notebooks record their key answers with
``trailkit.display.answers(...)``; those are checked against the planted incidents of the
sample logs (``trailkit.samples.INCIDENTS``), so the answers are computed, not typed.
Notebooks added later (04, 05, ...) are picked up by the glob and must at least run cleanly.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("altair")

from trailkit.display import recorded_answers  # noqa: E402
from trailkit.report import PARAMETERS_TAG, execute_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SAMPLES = ROOT / "data" / "samples"


def _ids(paths):
    return [p.stem for p in paths]


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


@pytest.fixture(scope="module")
def sample_logs() -> str | None:
    """None when data/samples is populated (the notebooks' own default is used); otherwise
    the samples generated into the cache folder, injected as LOGS."""
    if (SAMPLES / "AWSLogs").is_dir():
        return None
    from trailkit.cli import sample_dir

    return str(sample_dir())


def test_there_are_notebooks():
    names = {p.stem for p in NOTEBOOKS}
    assert {
        "00-start-here",
        "01-who-deleted-the-bucket",
        "02-ssh-open-to-the-world",
        "03-who-launches-huge-instances",
    } <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in _code_cells(nb):
        assert cell.outputs == [], f"{path.name}: a cell has stored output; run nbstripout on it"
        assert cell.execution_count is None, f"{path.name}: stored execution count; run nbstripout"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_thin_with_a_parameters_cell_first(path):
    nb = nbformat.read(path, as_version=4)
    cells = _code_cells(nb)
    assert PARAMETERS_TAG in cells[0].metadata.get("tags", []), (
        f"{path.name}: the first code cell must be tagged 'parameters'"
    )
    for node in ast.walk(ast.parse(cells[0].source)):
        # plain constants only: papermill/trailkit report override them by assignment
        assert not isinstance(node, (ast.Call, ast.Import, ast.ImportFrom)), (
            f"{path.name}: the parameters cell must hold plain constants"
        )
    for cell in cells:
        tree = ast.parse(cell.source)
        defs = [
            n
            for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        ]
        assert not defs, f"{path.name}: move `def {defs[0].name}` into the package"


def _run(path: Path, sample_logs: str | None):
    params = {"LOGS": sample_logs} if sample_logs and "LOGS" in _parameter_names(path) else {}
    nb = execute_notebook(path, parameters=params, timeout=300)
    errors = [o for c in _code_cells(nb) for o in c.outputs if o.output_type == "error"]
    assert not errors
    return nb, recorded_answers(nb)


def _parameter_names(path: Path) -> set[str]:
    nb = nbformat.read(path, as_version=4)
    tree = ast.parse(_code_cells(nb)[0].source)
    return {
        t.id
        for n in tree.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name)
    }


def _incidents():
    from trailkit.samples import INCIDENTS

    return INCIDENTS


def check_start_here(answers):
    assert answers["events"] > 10_000
    assert answers["first_event"].startswith("2026-03-09")
    assert answers["last_event"].startswith("2026-03-13")
    assert {"us-east-1", "eu-west-1", "us-west-2"} <= set(answers["regions"])


def check_bucket(answers):
    inc = _incidents()["bucket_deletion"]
    assert answers["bucket"] == inc["bucket"]
    assert answers["deleted_at"].startswith(inc["deleted_at"].removesuffix("Z"))
    assert answers["deleted_by"] == inc["actor"]
    # the person behind the role session, traced through the AssumeRole call
    assert answers["person"] == inc["assumed_by"]
    assert answers["attribution_method"] == "access_key"
    assert inc["decoy"]["bucket"] in answers["buckets_deleted"]


def check_ssh(answers):
    inc = _incidents()["ssh_open"]
    world = [b for b in inc["background"] if b["cidr"] == "0.0.0.0/0" and b["port"] in (22, 3389)]
    assert answers["rules_opened"] == 1 + len(world)
    assert answers["still_open"] == sum(not b["revoked"] for b in world)
    assert inc["group_id"] in answers["groups"]
    assert inc["actor"] in answers["opened_by"]
    assert inc["actor"].split("/")[-1] in answers["people"]  # the Identity Center user


def check_instances(answers):
    inc = _incidents()["huge_instances"]
    large = [
        launch
        for launch in inc["launches"]
        if launch["instance_type"] in inc["large_types"] and launch["error_code"] is None
    ]
    assert answers["large_instances"] == sum(launch["count"] for launch in large)
    assert answers["large_instances_by"] == sorted({launch["user"] for launch in large})
    assert answers["top_spender"] in answers["large_instances_by"]
    assert answers["failed_calls"] >= 1
    assert {launch["user"] for launch in large} <= set(answers["blocked_people"])
    assert answers["blocked_calls"] >= len(large)


CHECKS = {
    "00-start-here": check_start_here,
    "01-who-deleted-the-bucket": check_bucket,
    "02-ssh-open-to-the-world": check_ssh,
    "03-who-launches-huge-instances": check_instances,
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_runs_headless_and_gets_the_answer(path, sample_logs):
    nb, answers = _run(path, sample_logs)
    check = CHECKS.get(path.stem)
    if check is not None:
        assert answers, f"{path.name} recorded no answers (trailkit.display.answers)"
        check(answers)
    # no output may carry altair 6's vega-lite MIME type (nbformat rejects it)
    for cell in _code_cells(nb):
        for out in cell.outputs:
            assert not any(k.startswith("application/vnd.vegalite") for k in out.get("data", {}))
