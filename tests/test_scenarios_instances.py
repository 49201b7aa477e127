"""trailkit.instance_launches on real records (tests/data/scenarios/, see SOURCE.md) and on
synthetic ones built here (marked); the shipped price table."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import polars as pl
import pytest

import trailkit
from trailkit.scenarios.instances import COLUMNS, ec2_price_info, ec2_prices, instance_launches

DATA = Path(__file__).parent / "data" / "scenarios"


def normalize(recs: list[dict]) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trailkit.normalize_records(recs)


def load(*names: str) -> list[dict]:
    out = []
    for name in names:
        v = json.loads((DATA / name).read_text())
        out.extend(v if isinstance(v, list) else [v])
    return out


WHO = {
    "type": "AssumedRole",
    "accountId": "111122223333",
    "accessKeyId": "ASIADEV",
    "arn": "arn:aws:sts::111122223333:assumed-role/DeveloperRole/carol",
    "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "DeveloperRole"}},
}


def run(
    t,
    eid,
    *,
    itype=None,
    template=None,
    ids=(),
    resp_type=None,
    error=None,
    max_count=1,
    region="us-east-1",
):
    """Synthetic RunInstances in the documented shape (SPEC §8.3)."""
    params = {
        "instancesSet": {"items": [{"imageId": "ami-0abc", "minCount": 1, "maxCount": max_count}]}
    }
    if itype:
        params["instanceType"] = itype
    if template:
        params["launchTemplate"] = {"launchTemplateId": template, "version": "3"}
    rec = {
        "eventTime": t,
        "eventID": eid,
        "eventName": "RunInstances",
        "awsRegion": region,
        "userIdentity": WHO,
        "requestParameters": params,
    }
    if error:
        rec["errorCode"] = error
        rec["responseElements"] = None
    else:
        rec["responseElements"] = {
            "instancesSet": {
                "items": [
                    {"instanceId": i, "instanceType": resp_type or itype, "imageId": "ami-0abc"}
                    for i in ids
                ]
            }
        }
    return rec


def ends(t, eid, name, *ids):
    """Synthetic StopInstances / TerminateInstances (response shape of the real stratus StopInstances)."""
    return {
        "eventTime": t,
        "eventID": eid,
        "eventName": name,
        "userIdentity": WHO,
        "requestParameters": {"instancesSet": {"items": [{"instanceId": i} for i in ids]}},
        "responseElements": {
            "instancesSet": {
                "items": [
                    {"instanceId": i, "currentState": {"code": 32, "name": "shutting-down"}}
                    for i in ids
                ]
            }
        },
    }


def test_real_unauthorized_attempt_counts_max_count_and_names_the_user():
    out = instance_launches(
        normalize(load("stratus-red-team/aws.execution.ec2-launch-unusual-instances.json"))
    )
    assert out.height == 1
    r = out.row(0, named=True)
    assert (r["instance_type"], r["instance_type_source"], r["count"]) == (
        "p2.xlarge",
        "request",
        10,
    )
    assert r["success"] is False and r["dry_run"] is False
    assert r["error_code"] == "Client.UnauthorizedOperation"
    assert (
        r["instance_id"] is None and r["running_hours"] is None and r["estimated_cost_usd"] is None
    )
    assert r["session_started_by"] == "christophe"  # through the AssumeRole in the same file
    assert r["hourly_usd"] == 0.9 and r["hourly_usd_total"] == 9.0
    assert "region unknown" in r["price_basis"]  # anonymised region ca-south-3r
    assert out.columns == list(COLUMNS)


def test_real_successful_dry_run_and_service_launches():
    out = instance_launches(
        normalize(
            load(
                "panther-analysis/ec2_RunInstances_console_success.json",
                "panther-analysis/ec2_RunInstances_launchTemplate_dryrun.json",
                "panther-analysis/ec2_RunInstances_autoscaling_fleet.json",
            )
        )
    )
    assert out["event_time"].is_sorted()
    dry = out.filter(dry_run=True).row(0, named=True)
    assert dry["launch_template"] == "lt-0622a7ff26539376a:4"
    assert dry["instance_type"] == "m5.xlarge" and dry["success"] is False
    assert dry["hourly_usd"] == 0.192 and "same in us-west-2" in dry["price_basis"]
    ok = out.filter(instance_id="i-0d7e4b9be8a0de6ea").row(0, named=True)
    assert (ok["instance_type"], ok["count"], ok["success"], ok["still_running"]) == (
        "t1.micro",
        1,
        True,
        True,
    )
    assert ok["image_id"] == "ami-026b57f3c383c2eec"
    assert ok["actor"] == "DevAdministrator/temp_user"
    fleet = out.filter(instance_id="i-07d06021b0da55115").row(0, named=True)
    assert fleet["invoked_by"] == "autoscaling.amazonaws.com"
    assert fleet["attribution_method"] == "aws_service"


def test_launch_template_type_from_response_or_unresolved():
    out = instance_launches(
        normalize(
            [
                run(
                    "2026-03-10T09:00:00Z",
                    "lt-ok",
                    template="lt-1",
                    ids=["i-1", "i-2"],
                    resp_type="g5.xlarge",
                ),
                run(
                    "2026-03-10T09:01:00Z",
                    "lt-denied",
                    template="lt-1",
                    error="Client.UnauthorizedOperation",
                    max_count=3,
                ),
                run("2026-03-10T09:02:00Z", "plain-denied", error="Client.InstanceLimitExceeded"),
            ]
        )
    )
    got = out.select(
        "event_id", "instance_id", "instance_type", "instance_type_source", "count"
    ).rows()
    assert got == [
        ("lt-ok", "i-1", "g5.xlarge", "response", 1),
        ("lt-ok", "i-2", "g5.xlarge", "response", 1),
        ("lt-denied", None, None, "launch_template_unresolved", 3),
        ("plain-denied", None, None, "unknown", 1),
    ]
    assert out.filter(event_id="lt-denied")["price_basis"].item().startswith("no price")
    assert out.filter(event_id="lt-ok")["launch_template"].unique().to_list() == ["lt-1:3"]


def test_lifetimes_from_stop_and_terminate_and_cost():
    out = instance_launches(
        normalize(
            [
                run("2026-03-10T09:00:00Z", "big", itype="p3.16xlarge", ids=["i-a", "i-b", "i-c"]),
                ends("2026-03-10T11:00:00Z", "t1", "TerminateInstances", "i-a"),
                ends("2026-03-10T09:30:00Z", "s1", "StopInstances", "i-b"),
                ends(
                    "2026-03-10T08:00:00Z", "before", "TerminateInstances", "i-c"
                ),  # earlier: ignored
                {
                    "eventTime": "2026-03-10T13:00:00Z",
                    "eventID": "last",
                    "eventName": "DescribeInstances",
                    "userIdentity": WHO,
                },
            ]
        )
    )
    by_id = {r["instance_id"]: r for r in out.iter_rows(named=True)}
    a, b, c = by_id["i-a"], by_id["i-b"], by_id["i-c"]
    assert (a["end_event_name"], a["end_event_id"], a["running_hours"]) == (
        "TerminateInstances",
        "t1",
        2.0,
    )
    assert a["estimated_cost_usd"] == pytest.approx(2 * 24.48)
    assert (b["end_event_name"], b["running_hours"], b["still_running"]) == (
        "StopInstances",
        0.5,
        False,
    )
    assert c["still_running"] is True and c["ended_at"] is None
    assert c["running_hours"] == 4.0  # up to the last loaded event
    assert a["hourly_usd"] == 24.48 and a["price_basis"] == "us-east-1 list price"


def test_region_factor_and_family_scaling():
    out = instance_launches(
        normalize(
            [
                run(
                    "2026-03-10T09:00:00Z",
                    "fra",
                    itype="m5.large",
                    ids=["i-1"],
                    region="eu-central-1",
                ),
                run("2026-03-10T09:00:01Z", "scaled", itype="r6i.48xlarge", ids=["i-2"]),
                run("2026-03-10T09:00:02Z", "unknown", itype="zz9.large", ids=["i-3"]),
            ]
        )
    )
    fra = out.filter(event_id="fra").row(0, named=True)
    assert fra["hourly_usd"] == pytest.approx(0.096 * 1.198, abs=1e-5)
    assert "eu-central-1" in fra["price_basis"]
    scaled = out.filter(event_id="scaled").row(0, named=True)
    assert scaled["hourly_usd"] == pytest.approx(0.126 * 96)
    assert scaled["price_basis"].startswith("estimated from other sizes")
    assert out.filter(event_id="unknown")["hourly_usd"].item() is None


def test_price_table_is_documented_and_sane():
    info = ec2_price_info()
    assert info["as_of"] == "2025-01" and info["base_region"] == "us-east-1"
    assert "AWS" in info["source"] and info["operating_system"] == "Linux"
    table = ec2_prices()
    assert table["instance_type"].is_unique().all()
    assert (table["usd_per_hour"] > 0).all()
    families = set(table["instance_type"].str.split(".").list.first())
    for fam in (
        "t2",
        "t3",
        "t3a",
        "t4g",
        "m5",
        "m6i",
        "m7i",
        "c5",
        "c6i",
        "r5",
        "r6i",
        "x2iedn",
        "p3",
        "p4d",
        "p5",
        "g4dn",
        "g5",
        "inf1",
        "inf2",
        "trn1",
    ):
        assert fam in families
    assert table.filter(instance_type="t2.micro")["usd_per_hour"].item() == 0.0116


def test_empty_input():
    assert instance_launches(trailkit.normalize_records([])).columns == list(COLUMNS)
