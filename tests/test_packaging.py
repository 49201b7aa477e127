"""The project's promises outside the code: light import, two commands, docs in step."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"

HEAVY = ("boto3", "botocore", "altair", "ipywidgets", "jupyter", "jupyterlab", "nbclient",
         "nbconvert", "IPython", "pandas", "duckdb", "vl_convert", "moto", "cryptography", "tqdm")


def test_import_trailkit_stays_light():
    code = ("import sys, json, trailkit; trailkit.__all__; "
            "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_loading_events_does_not_import_aws_or_notebook_libraries():
    code = ("import sys, json, trailkit, warnings; warnings.simplefilter('ignore'); "
            f"trailkit.read_events({str(DATA / 'corpus' / 'trailscraper')!r}); "
            "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert not loaded & {"boto3", "altair", "ipywidgets", "jupyter", "pandas", "duckdb"}


def test_environment_yml_is_in_step_with_pyproject():
    yaml = pytest.importorskip("yaml")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    extras = set(pyproject["project"]["optional-dependencies"])
    need = re.search(r">=(\d+\.\d+)", pyproject["project"]["requires-python"]).group(1)
    deps = env["dependencies"]
    pip = [d for d in deps if isinstance(d, dict)]
    # conda gets only python and pip; every package comes from pyproject through pip
    assert sorted(d for d in deps if isinstance(d, str)) == sorted([f"python>={need}", "pip"])
    assert len(pip) == 1 and len(pip[0]["pip"]) == 1
    m = re.fullmatch(r"-e \.\[([a-z,]+)\]", pip[0]["pip"][0])
    assert m, "environment.yml must install the project with pip -e .[extras]"
    assert set(m.group(1).split(",")) <= extras


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    commands = re.findall(r"^(\./run \w+)\s*$", readme, flags=re.M)
    assert "./run test" in commands and "./run demo" in commands
    assert re.search(r"^\./run test\s*$", ci, flags=re.M)


def test_readme_documents_every_schema_column():
    from trailkit.schema import COLUMNS

    readme = (ROOT / "README.md").read_text() + (ROOT / "docs" / "schema.md").read_text()
    for name in COLUMNS:
        assert f"`{name}`" in readme, name


def test_docs_schema_table_is_generated_from_schema_py():
    from trailkit.schema import schema_markdown

    assert schema_markdown() in (ROOT / "docs" / "schema.md").read_text()


def test_cli_summary_and_export(tmp_path):
    src = str(DATA / "corpus" / "stratus-red-team")
    out = subprocess.run([sys.executable, "-m", "trailkit.cli", "summary", src],
                         capture_output=True, text=True, check=True)
    assert "events from" in out.stdout and "Most active identities" in out.stdout
    pq = tmp_path / "events.parquet"
    subprocess.run([sys.executable, "-m", "trailkit.cli", "export", src, "--out", str(pq)], check=True,
                   capture_output=True)
    n = sum(len(json.loads(f.read_text())) for f in (DATA / "corpus" / "stratus-red-team").glob("*.json"))
    assert pl.read_parquet(pq).height == n  # every record of the copied detonation logs
    bad = subprocess.run([sys.executable, "-m", "trailkit.cli", "summary", "no/such/place"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "no/such/place" in bad.stderr


def test_summary_output_cannot_drive_the_terminal():
    from trailkit import normalize_records
    from trailkit.summary import summarize

    df = normalize_records([{"eventTime": "2026-03-10T14:05:32Z", "eventName": "DeleteBucket",
                             "userIdentity": {"type": "IAMUser", "userName": "evil\x1b[2J\x07"}}])
    text = summarize(df)
    assert "\x1b" not in text and "\x07" not in text


def test_cli_cache_info_and_clear(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x.parquet").write_bytes(b"1234")
    info = subprocess.run([sys.executable, "-m", "trailkit.cli", "cache", "--dir", str(tmp_path / "c")],
                          capture_output=True, text=True, check=True)
    assert "1 files" in info.stdout
    subprocess.run([sys.executable, "-m", "trailkit.cli", "cache", "clear", "--dir", str(tmp_path / "c")],
                   capture_output=True, check=True)
    assert not (tmp_path / "c").exists()
