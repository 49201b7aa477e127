"""trailkit.build_instance_type_policy and policy_what_if (real records from
tests/data/scenarios/, see SOURCE.md; synthetic ones marked)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import polars as pl
import pytest

import trailkit
from trailkit.errors import InputError
from trailkit.scenarios.policy import COLUMNS, build_instance_type_policy, policy_what_if

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


def real_events() -> pl.DataFrame:
    return normalize(
        load(
            "stratus-red-team/aws.execution.ec2-launch-unusual-instances.json",
            "panther-analysis/ec2_RunInstances_console_success.json",
            "panther-analysis/ec2_RunInstances_launchTemplate_dryrun.json",
            "panther-analysis/ec2_RunInstances_autoscaling_fleet.json",
        )
    )


def test_policy_document_matches_the_documented_form():
    doc = json.loads(build_instance_type_policy())
    assert doc == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyNonApprovedInstanceTypes",
                "Effect": "Deny",
                "Action": "ec2:RunInstances",
                "Resource": "arn:aws:ec2:*:*:instance/*",
                "Condition": {"StringNotEquals": {"ec2:InstanceType": ["t2.micro", "t3.small"]}},
            }
        ],
    }
    assert "\n" not in build_instance_type_policy(indent=None)


def test_wildcards_use_string_not_like():
    doc = json.loads(build_instance_type_policy(["t3.*", "t4g.micro"], sid="OnlyT"))
    stmt = doc["Statement"][0]
    assert stmt["Sid"] == "OnlyT"
    assert stmt["Condition"] == {"StringNotLike": {"ec2:InstanceType": ["t3.*", "t4g.micro"]}}


@pytest.mark.parametrize("bad", [[], [""], ["t3.micro", 7], ["t3.micro; DROP"]])
def test_bad_allowed_lists_are_rejected(bad):
    with pytest.raises(InputError, match="allowed"):
        build_instance_type_policy(bad)


def test_what_if_on_real_launches():
    out = policy_what_if(real_events())
    assert out.columns == list(COLUMNS)
    assert out["instance_type"].to_list() == ["m5.xlarge", "t1.micro", "p2.xlarge", "p2.xlarge"]
    assert out["verdict"].unique().to_list() == ["blocked"]
    stratus = out.filter(pl.col("event_id") == "1a4debbb-12e9-4bde-b8c7-ea29002bb2a7").row(
        0, named=True
    )
    assert stratus["session_started_by"] == "christophe"
    assert stratus["count"] == 10 and stratus["instance_ids"] == []
    assert "already failed (Client.UnauthorizedOperation)" in stratus["policy_note"]
    fleet = out.filter(pl.col("invoked_by") == "autoscaling.amazonaws.com").row(0, named=True)
    assert "service-linked roles" in fleet["policy_note"]
    dry = out.filter(pl.col("error_code") == "Client.DryRunOperation").row(0, named=True)
    assert "would have succeeded" in dry["policy_note"]


def test_allowed_types_pass_and_unknown_types_are_unknown():
    events = real_events()
    allowed = policy_what_if(events, allowed=["t1.micro", "p2.*"], only_blocked=False)
    assert dict(zip(allowed["instance_type"], allowed["verdict"], strict=False)) == {
        "m5.xlarge": "blocked",
        "t1.micro": "allowed",
        "p2.xlarge": "allowed",
    }
    assert allowed.filter(verdict="allowed")["would_block"].to_list() == [False, False, False]
    # synthetic: a failed launch-template call whose type is not in the event
    lt = normalize(
        [
            {
                "eventTime": "2026-03-10T09:00:00Z",
                "eventID": "lt",
                "eventName": "RunInstances",
                "errorCode": "Client.UnauthorizedOperation",
                "userIdentity": {"type": "IAMUser", "userName": "dev"},
                "requestParameters": {
                    "launchTemplate": {"launchTemplateName": "big", "version": "1"},
                    "instancesSet": {"items": [{"minCount": 1, "maxCount": 2}]},
                },
            }
        ]
    )
    r = policy_what_if(lt, only_blocked=False).row(0, named=True)
    assert r["verdict"] == "unknown" and r["would_block"] is None
    assert "launch template" in r["policy_note"]
    assert policy_what_if(lt).height == 0


def test_grouped_per_call_with_instance_ids():
    # synthetic: one call launching two instances counts once, with both ids
    ev = normalize(
        [
            {
                "eventTime": "2026-03-10T09:00:00Z",
                "eventID": "two",
                "eventName": "RunInstances",
                "awsRegion": "us-east-1",
                "userIdentity": {"type": "IAMUser", "userName": "dev"},
                "requestParameters": {
                    "instanceType": "x2iedn.32xlarge",
                    "instancesSet": {"items": [{"minCount": 2, "maxCount": 2}]},
                },
                "responseElements": {
                    "instancesSet": {
                        "items": [
                            {"instanceId": "i-1", "instanceType": "x2iedn.32xlarge"},
                            {"instanceId": "i-2", "instanceType": "x2iedn.32xlarge"},
                        ]
                    }
                },
            }
        ]
    )
    r = policy_what_if(ev).row(0, named=True)
    assert (r["count"], r["instance_ids"], r["actor"]) == (2, ["i-1", "i-2"], "dev")
    assert r["hourly_usd_total"] == pytest.approx(2 * 26.676)
