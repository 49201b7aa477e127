"""trailkit.open_ingress on the real stratus open-port-22 detonation and on synthetic records.

The corpus has no real RevokeSecurityGroupIngress-by-rule-id or ModifySecurityGroupRules
event, and the real console ipPermissions events have no known licence, so those shapes are
built here by hand (marked synthetic) after SPEC §8.2. When ../shared is present the real
console events are used too.
"""

from __future__ import annotations

import json
import warnings
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

import trailkit
from trailkit.errors import InputError
from trailkit.scenarios.ingress import COLUMNS, open_ingress

DATA = Path(__file__).parent / "data" / "scenarios"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "cloudtrail" / "examples" / "scenarios"
STRATUS = "stratus-red-team/aws.exfiltration.ec2-security-group-open-port-22-ingress.json"


def normalize(recs: list[dict]) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trailkit.normalize_records(recs)


def stratus() -> list[dict]:
    return json.loads((DATA / STRATUS).read_text())


WHO = {
    "type": "IAMUser",
    "userName": "dev",
    "arn": "arn:aws:iam::111122223333:user/dev",
    "accountId": "111122223333",
}
FIXER = {
    "type": "AssumedRole",
    "accountId": "111122223333",
    "arn": "arn:aws:sts::111122223333:assumed-role/SecurityAutoRemediationRole/sg-remediator",
    "sessionContext": {
        "sessionIssuer": {"type": "Role", "userName": "SecurityAutoRemediationRole"}
    },
}


def perm(proto, frm=None, to=None, v4=(), v6=()):
    p = {
        "ipProtocol": proto,
        "groups": {},
        "prefixListIds": {},
        "ipRanges": {"items": [{"cidrIp": c} for c in v4]} if v4 else {},
        "ipv6Ranges": {"items": [{"cidrIpv6": c} for c in v6]} if v6 else {},
    }
    if frm is not None:
        p["fromPort"], p["toPort"] = frm, to
    return p


def ec2(t, eid, name, params, *, who=WHO, error=None, response=None):
    """Synthetic EC2 event in the console/CLI ipPermissions shape (SPEC §8.2)."""
    rec = {
        "eventTime": t,
        "eventID": eid,
        "eventName": name,
        "eventSource": "ec2.amazonaws.com",
        "awsRegion": "eu-west-1",
        "userIdentity": who,
        "requestParameters": params,
        "responseElements": response
        if response is not None
        else ({"_return": True} if not error else None),
    }
    if error:
        rec["errorCode"] = error
    return rec


def test_real_flat_request_anonymised_world_cidr_and_rule_id():
    out = open_ingress(normalize(stratus()))
    assert out.height == 1
    r = out.row(0, named=True)
    assert r["group_id"] == "sg-003dc7f1f1c686164"
    assert r["cidr"] == "208.236.235.254/0"  # anonymised 0.0.0.0/0: any /0 is the world
    assert r["cidr_canonical"] == "0.0.0.0/0"
    assert r["rule_id"] == "sgr-09b3e3d2ca1edf2a2"  # from responseElements.securityGroupRuleSet
    assert (r["protocol"], r["from_port"], r["to_port"], r["ports_exposed"]) == (
        "tcp",
        22,
        22,
        [22],
    )
    assert r["request_shape"] == "flat"
    assert r["actor"] == "christophe" and r["session_started_by"] == "christophe"
    assert r["success"] is True and r["still_open"] is True
    assert r["revoked_at"] is None
    assert r["exposure"] == timedelta(0)  # the detonation is the last loaded event
    assert out.columns == list(COLUMNS)


def test_real_flat_request_revoked_by_rule_id_61_seconds_later():
    # synthetic revoke of the real rule, by SecurityGroupRuleIds (botocore shape)
    revoke = ec2(
        "2024-08-01T12:24:56Z",
        "rev",
        "RevokeSecurityGroupIngress",
        {
            "groupId": "sg-003dc7f1f1c686164",
            "securityGroupRuleIds": {"items": [{"securityGroupRuleId": "sgr-09b3e3d2ca1edf2a2"}]},
        },
        who=FIXER,
    )
    r = open_ingress(normalize(stratus() + [revoke])).row(0, named=True)
    assert r["revoked_at"].isoformat() == "2024-08-01T12:24:56+00:00"
    assert r["revoked_by"] == "SecurityAutoRemediationRole/sg-remediator"
    assert r["revoke_match"] == "rule_id"
    assert r["revoke_event_id"] == "rev"
    assert r["exposure_seconds"] == 61.0
    assert r["still_open"] is False


def test_ip_permissions_shape_ipv4_and_ipv6_rows_and_permission_revoke():
    events = normalize(
        [
            ec2(
                "2026-03-10T09:00:00Z",
                "open",
                "AuthorizeSecurityGroupIngress",
                {
                    "groupId": "sg-0a1b2c3d4e5f60718",
                    "ipPermissions": {
                        "items": [
                            perm("tcp", 22, 22, v4=["0.0.0.0/0"], v6=["::/0"]),
                            perm("tcp", 443, 443, v4=["0.0.0.0/0"]),
                        ]
                    },
                },
            ),
            ec2(
                "2026-03-10T09:01:01Z",
                "close",
                "RevokeSecurityGroupIngress",
                {
                    "groupId": "sg-0a1b2c3d4e5f60718",
                    "ipPermissions": {"items": [perm("tcp", 22, 22, v4=["0.0.0.0/0"])]},
                },
                who=FIXER,
            ),
            ec2("2026-03-10T10:00:00Z", "later", "DescribeInstances", {}),
        ]
    )
    out = open_ingress(events)
    assert out["cidr"].to_list() == ["0.0.0.0/0", "::/0"]  # 443 is not a listed port
    v4, v6 = out.row(0, named=True), out.row(1, named=True)
    assert v4["request_shape"] == "ip_permissions"
    assert v4["revoke_match"] == "permission" and v4["exposure_seconds"] == 61.0
    assert v4["revoked_by"] == "SecurityAutoRemediationRole/sg-remediator"
    assert v6["still_open"] is True and v6["revoked_at"] is None
    assert v6["exposure"] == timedelta(hours=1)  # up to the last loaded event


def test_port_ranges_protocol_all_and_non_matching_rules():
    events = normalize(
        [
            ec2(
                "2026-03-10T09:00:00Z",
                "range",
                "AuthorizeSecurityGroupIngress",
                {
                    "groupId": "sg-1",
                    "ipPermissions": {"items": [perm("tcp", 0, 65535, v4=["0.0.0.0/0"])]},
                },
            ),
            ec2(
                "2026-03-10T09:00:01Z",
                "all",
                "AuthorizeSecurityGroupIngress",
                {"groupId": "sg-2", "ipPermissions": {"items": [perm("-1", v4=["1.2.3.4/0"])]}},
            ),
            ec2(
                "2026-03-10T09:00:02Z",
                "proto6",
                "AuthorizeSecurityGroupIngress",
                {
                    "groupId": "sg-3",
                    "ipPermissions": {"items": [perm("6", 3389, 3389, v4=["0.0.0.0/0"])]},
                },
            ),
            ec2(
                "2026-03-10T09:00:03Z",
                "private",
                "AuthorizeSecurityGroupIngress",
                {
                    "groupId": "sg-4",
                    "ipPermissions": {"items": [perm("tcp", 22, 22, v4=["10.0.0.0/8"])]},
                },
            ),
            ec2(
                "2026-03-10T09:00:04Z",
                "icmp",
                "AuthorizeSecurityGroupIngress",
                {
                    "groupId": "sg-5",
                    "ipPermissions": {"items": [perm("icmp", 8, 22, v4=["0.0.0.0/0"])]},
                },
            ),
            ec2(
                "2026-03-10T09:00:05Z",
                "udp",
                "AuthorizeSecurityGroupIngress",
                {
                    "groupId": "sg-6",
                    "ipPermissions": {"items": [perm("udp", 20, 30, v4=["0.0.0.0/0"])]},
                },
            ),
        ]
    )
    out = open_ingress(events)
    got = dict(zip(out["event_id"], out["ports_exposed"].to_list(), strict=True))
    assert got == {"range": [22, 3389], "all": [22, 3389], "proto6": [3389], "udp": [22]}
    assert out.filter(event_id="all")["protocol"].item() == "-1"
    assert out.filter(event_id="proto6")["protocol"].item() == "tcp"
    # a narrower listed range: rules that contain it count, the private one does not
    sub = open_ingress(events, ports=22, cidrs=["10.1.0.0/16"])
    assert sorted(sub["event_id"]) == ["all", "private", "range", "udp"]


def test_modify_security_group_rules_opens_and_closes():
    rule = {
        "SecurityGroupRuleId": "sgr-abcdef01234567890",
        "SecurityGroupRule": {
            "IpProtocol": "tcp",
            "FromPort": 22,
            "ToPort": 22,
            "CidrIpv4": "0.0.0.0/0",
        },
    }
    closed = {
        "SecurityGroupRuleId": "sgr-abcdef01234567890",
        "SecurityGroupRule": {
            "IpProtocol": "tcp",
            "FromPort": 22,
            "ToPort": 22,
            "CidrIpv4": "203.0.113.0/24",
        },
    }
    events = normalize(
        [  # synthetic, after the SYNTHETIC_shape example (one object, then a list)
            ec2(
                "2026-03-10T09:00:00Z",
                "mod-open",
                "ModifySecurityGroupRules",
                {"ModifySecurityGroupRulesRequest": {"GroupId": "sg-1", "SecurityGroupRule": rule}},
                response={"ModifySecurityGroupRulesResponse": {"return": True}},
            ),
            ec2(
                "2026-03-10T09:10:00Z",
                "mod-close",
                "ModifySecurityGroupRules",
                {
                    "ModifySecurityGroupRulesRequest": {
                        "GroupId": "sg-1",
                        "SecurityGroupRule": [closed],
                    }
                },
                response={"ModifySecurityGroupRulesResponse": {"return": True}},
            ),
        ]
    )
    out = open_ingress(events)
    assert out.height == 1
    r = out.row(0, named=True)
    assert (r["request_shape"], r["rule_id"], r["group_id"]) == (
        "modify_rules",
        "sgr-abcdef01234567890",
        "sg-1",
    )
    assert r["revoke_match"] == "rule_modified" and r["revoke_event_id"] == "mod-close"
    assert r["exposure_seconds"] == 600.0


def test_delete_security_group_closes_and_failed_calls_are_marked():
    events = normalize(
        [
            ec2(
                "2026-03-10T09:00:00Z",
                "denied",
                "AuthorizeSecurityGroupIngress",
                {
                    "groupId": "sg-9",
                    "ipPermissions": {"items": [perm("tcp", 3389, 3389, v4=["0.0.0.0/0"])]},
                },
                error="Client.UnauthorizedOperation",
            ),
            ec2(
                "2026-03-10T09:00:05Z",
                "ok",
                "AuthorizeSecurityGroupIngress",
                {
                    "groupId": "sg-9",
                    "ipPermissions": {"items": [perm("tcp", 3389, 3389, v4=["0.0.0.0/0"])]},
                },
            ),
            ec2("2026-03-10T09:30:05Z", "gone", "DeleteSecurityGroup", {"groupId": "sg-9"}),
        ]
    )
    out = open_ingress(events)
    denied = out.filter(event_id="denied").row(0, named=True)
    assert denied["success"] is False and denied["error_code"] == "Client.UnauthorizedOperation"
    assert (
        denied["still_open"] is False
        and denied["exposure"] is None
        and denied["revoked_at"] is None
    )
    ok = out.filter(event_id="ok").row(0, named=True)
    assert ok["revoke_match"] == "group_deleted" and ok["exposure_seconds"] == 1800.0
    assert open_ingress(events, include_failed=False)["event_id"].to_list() == ["ok"]


def test_revocations_of_other_permissions_do_not_close():
    events = normalize(
        [
            ec2(
                "2026-03-10T09:00:00Z",
                "open",
                "AuthorizeSecurityGroupIngress",
                {
                    "groupId": "sg-1",
                    "ipPermissions": {"items": [perm("tcp", 22, 22, v4=["0.0.0.0/0"])]},
                },
            ),
            ec2(
                "2026-03-10T09:01:00Z",
                "other-port",
                "RevokeSecurityGroupIngress",
                {
                    "groupId": "sg-1",
                    "ipPermissions": {"items": [perm("tcp", 80, 80, v4=["0.0.0.0/0"])]},
                },
            ),
            ec2(
                "2026-03-10T09:02:00Z",
                "other-group",
                "RevokeSecurityGroupIngress",
                {
                    "groupId": "sg-2",
                    "ipPermissions": {"items": [perm("tcp", 22, 22, v4=["0.0.0.0/0"])]},
                },
            ),
            ec2(
                "2026-03-10T09:03:00Z",
                "failed",
                "RevokeSecurityGroupIngress",
                {
                    "groupId": "sg-1",
                    "ipPermissions": {"items": [perm("tcp", 22, 22, v4=["0.0.0.0/0"])]},
                },
                error="InvalidPermission.NotFound",
            ),
        ]
    )
    r = open_ingress(events).row(0, named=True)
    assert r["still_open"] is True and r["revoke_event_id"] is None


def test_arguments_are_checked():
    events = normalize(stratus())
    with pytest.raises(InputError, match="ports"):
        open_ingress(events, ports=(70000,))
    with pytest.raises(InputError, match="not an IPv4/IPv6 network"):
        open_ingress(events, cidrs=("everywhere",))
    assert open_ingress(trailkit.normalize_records([])).columns == list(COLUMNS)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared/cloudtrail/examples not present")
def test_real_console_events_from_shared():
    recs = [
        json.loads((SHARED / f).read_text())
        for f in (
            "ec2_AuthorizeSecurityGroupIngress_console_ipv4_ipv6.json",
            "ec2_RevokeSecurityGroupIngress_console.json",
        )
    ]
    out = open_ingress(normalize(recs))
    assert out["cidr"].to_list() == [
        "0.0.0.0/0",
        "::/0",
    ]  # the revoke of 127.0.0.1/32 closes nothing
    assert out["actor"].unique().to_list() == ["root"]
    assert out["still_open"].all()


def test_one_odd_record_does_not_break_the_others():
    # synthetic: ipRanges as a string where EC2 writes an object -> that record is skipped
    events = normalize(
        [
            ec2(
                "2026-03-10T09:00:00Z",
                "odd",
                "AuthorizeSecurityGroupIngress",
                {
                    "groupId": "sg-1",
                    "ipPermissions": {
                        "items": [
                            {
                                "ipProtocol": "tcp",
                                "fromPort": 22,
                                "toPort": 22,
                                "ipRanges": "0.0.0.0/0",
                            }
                        ]
                    },
                },
            ),
            ec2(
                "2026-03-10T09:00:01Z",
                "fine",
                "AuthorizeSecurityGroupIngress",
                {
                    "groupId": "sg-1",
                    "ipPermissions": {"items": [perm("tcp", 22, 22, v4=["0.0.0.0/0"])]},
                },
            ),
        ]
    )
    assert open_ingress(events)["event_id"].to_list() == ["fine"]
