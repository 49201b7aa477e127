"""The IAM policies and the EventBridge pattern printed in docs/aws.md and the README are the code's."""

from __future__ import annotations

import json
import re
from pathlib import Path

from trailkit.aws import policies

ROOT = Path(__file__).resolve().parents[1]


def _json_blocks(path: Path) -> list[dict]:
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)\n```", path.read_text(), re.S)]


def test_docs_show_the_policies_the_code_builds():
    blocks = _json_blocks(ROOT / "docs" / "aws.md")
    for doc in (
        policies.investigator_policy(),
        policies.remediation_policy(),
        policies.lambda_policy(),
        policies.EVENT_PATTERN,
    ):
        assert doc in blocks


def test_readme_shows_investigator_and_remediation_policies():
    blocks = _json_blocks(ROOT / "README.md")
    assert policies.investigator_policy() in blocks
    assert policies.remediation_policy() in blocks


def test_policies_are_read_only_or_narrow():
    actions = [
        a
        for s in policies.investigator_policy()["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    verbs = {a.split(":")[1] for a in actions}
    assert all(v.startswith(("List", "Get", "Describe", "Lookup", "Decrypt")) for v in verbs), verbs
    remed = policies.remediation_policy("111122223333")["Statement"]
    assert remed[1]["Resource"] == "arn:aws:ec2:*:111122223333:security-group/*"
