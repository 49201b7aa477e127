"""trailkit.narrative: answers written from the data, and safe as Markdown."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

import trailkit
from trailkit import narrative

XSS = "<img src=x onerror=alert(1)>"
SCENARIOS = Path(__file__).parent / "data" / "scenarios"
T = datetime(2026, 3, 10, 9, 5, tzinfo=UTC)


def _html(markdown: str) -> str:
    mistune = pytest.importorskip("mistune")
    return mistune.html(markdown) if hasattr(mistune, "html") else mistune.markdown(markdown)


@pytest.fixture(scope="module")
def events() -> pl.DataFrame:
    return trailkit.read_events(SCENARIOS)


def _deletion(**overrides):
    row = {
        "event_time": T,
        "bucket": "logs",
        "event_name": "DeleteBucket",
        "success": True,
        "actor": "Admin/job",
        "identity_type": "AssumedRole",
        "session_started_by": "bob",
        "started_by_arn": "arn:aws:iam::111122223333:user/bob",
        "attribution_chain": "bob → Admin/job",
        "attribution_method": "access_key",
        "attribution_note": None,
        "source_ip": "203.0.113.9",
        "user_agent": "aws-cli/2",
        "aws_region": "eu-west-1",
        "event_id": "e1",
        "change": "bucket deleted",
    }
    row.update(overrides)
    return pl.DataFrame([row])


def test_bucket_deletion_names_the_person():
    text = narrative.explain_bucket_deletion(_deletion())
    assert text.startswith(
        "**Bucket `logs` was deleted on 2026-03-10 at 09:05:00 UTC by `Admin/job`**"
    )
    assert "started by **`bob`**" in text
    assert "`bob → Admin/job`" in text
    assert "from `203.0.113.9`" in text and "region `eu-west-1`" in text
    assert text._repr_markdown_() == str(text)


def test_bucket_deletion_says_what_is_missing():
    text = narrative.explain_bucket_deletion(
        _deletion(
            session_started_by=None,
            attribution_method="none",
            attribution_note="no AssumeRole event for ASIA1",
        )
    )
    assert "**The person behind this session is not in these logs**" in text
    assert "no AssumeRole event for ASIA1" in text


def test_bucket_deletion_lists_changes_before():
    before = _deletion(
        event_name="DeleteBucketPolicy",
        change="bucket policy removed",
        event_time=datetime(2026, 3, 10, 9, tzinfo=UTC),
    )
    failed = _deletion(
        success=False,
        change="FAILED: bucket deleted (BucketNotEmpty)",
        event_time=datetime(2026, 3, 10, 9, 2, tzinfo=UTC),
    )
    text = narrative.explain_bucket_deletion(pl.concat([before, failed, _deletion()]))
    assert "Before the deletion, 2 other call(s)" in text
    assert "bucket policy removed" in text and "BucketNotEmpty" in text


def test_no_deletion():
    empty = _deletion().clear()
    assert narrative.explain_bucket_deletion(empty).startswith("**No bucket was deleted")
    assert narrative.answers_bucket_deletion(empty) == {"deletions": 0}


def test_attacker_text_never_becomes_markup():
    hostile = _deletion(
        bucket=XSS,
        actor=f"a`b{XSS}",
        session_started_by="*bob*](javascript:alert(1))",
        user_agent=XSS + "\n# heading",
        source_ip="``" + XSS,
        attribution_note=XSS,
        attribution_method="none",
    )
    for text in (
        narrative.explain_bucket_deletion(hostile),
        narrative.explain_bucket_deletion(
            hostile.with_columns(pl.lit(None, pl.String).alias("session_started_by"))
        ),
    ):
        rendered = _html(text)
        assert "<img" not in rendered
        assert (
            "javascript:" not in rendered.replace("javascript:alert(1))", "")
            or "<a " not in rendered
        )
        assert "<h1" not in rendered
        assert "&lt;img src=x onerror=alert(1)&gt;" in rendered


def test_on_real_records(events):
    history = trailkit.who_deleted_bucket(events)
    text = narrative.explain_bucket_deletion(history)
    assert text.count("was deleted on") == 2
    answers = narrative.answers_bucket_deletion(history)
    assert answers["deletions"] == 2 and answers["bucket"] == "my-test-bucket-cross-account"

    rules = trailkit.open_ingress(events)
    text = narrative.explain_open_ingress(rules)
    assert "opened port 22 to the world" in text and "still open" in text
    assert narrative.answers_open_ingress(rules)["rules_opened"] == 1

    launches = trailkit.instance_launches(events)
    text = narrative.explain_instance_launches(launches)
    assert "launched" in text and "$" in text
    assert narrative.answers_instance_launches(launches)["instances"] >= 1

    verdicts = trailkit.policy_what_if(events, ["t2.micro"], only_blocked=False)
    text = narrative.explain_policy_what_if(verdicts, ["t2.micro"])
    assert text.startswith("With a policy that allows only `t2.micro`")
    assert "service control policy" in text  # autoscaling launches are in these records
    assert narrative.answers_policy_what_if(verdicts)["blocked_calls"] >= 1


def test_open_ingress_nothing_open():
    rules = pl.DataFrame(
        {"event_time": [T], "group_id": ["sg-1"], "success": [False], "still_open": [False]}
    )
    text = narrative.explain_open_ingress(rules)
    assert text.startswith("**No rule opened") and "1 attempt(s) failed" in text


def test_launches_and_policy_edge_cases():
    none = pl.DataFrame(
        schema={"event_time": pl.Datetime("us", "UTC"), "count": pl.Int64, "success": pl.Boolean}
    )
    assert narrative.explain_instance_launches(none).startswith("**No `RunInstances` calls")
    allowed = pl.DataFrame({"verdict": ["allowed"], "actor": ["ops"]})
    assert (
        "no `RunInstances` call in these logs would have been denied"
        in narrative.explain_policy_what_if(allowed)
    )


def test_describe_events():
    df = pl.DataFrame(
        {
            "event_time": [T, T],
            "actor": ["alice", XSS],
            "aws_region": ["us-east-1", "eu-west-1"],
            "success": [True, False],
        }
    )
    text = narrative.describe_events(df)
    assert text.startswith("**2 events** from 2026-03-10 09:05 UTC to 2026-03-10 09:05 UTC")
    assert "2 regions" in text and "1 call failed (50.0%)" in text
    assert "<img" not in _html(text)
    assert narrative.describe_events(df.clear()).startswith("**No events loaded.**")


def test_wrong_input_names_the_fix():
    with pytest.raises(trailkit.InputError, match="bucket"):
        narrative.explain_bucket_deletion(pl.DataFrame({"event_time": [T]}))
    with pytest.raises(trailkit.InputError, match="DataFrame"):
        narrative.explain_open_ingress(None)
