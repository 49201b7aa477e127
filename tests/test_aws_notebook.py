"""notebooks/04-is-my-trail-set-up-right.ipynb runs headless in demo mode and gives the expected answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04-is-my-trail-set-up-right.ipynb"


def test_stored_without_outputs_and_parameters_first():
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert "parameters" in code[0]["metadata"].get("tags", [])
    assert "DEMO_LOCAL_ENDPOINT = True" in "".join(code[0]["source"])
    # thin cells: no functions or classes defined in the notebook
    assert not any(
        line.lstrip().startswith(("def ", "class ")) for c in code for line in c["source"]
    )


def test_runs_in_demo_mode(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("TRAILKIT_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("TRAILKIT_AWS_ENDPOINT_URL", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        nb,
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    text = "\n".join(
        o.get("text", "") + o.get("data", {}).get("text/plain", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )
    assert "1   PASS  A multi-region trail is logging" in text
    assert "3   FAIL  The log bucket is locked down" in text
    assert "5   FAIL  Events go to CloudWatch Logs" in text
    assert "put-metric-alarm" in text and "put-public-access-block" in text
    assert "24 log files" in text and "ConsoleLogin" in text
    assert "checks failing for at least one trail: 3, 4, 5, kms, org" in text
    assert (tmp_path / "s3" / "trailkit-demo-central-logs").is_dir()
