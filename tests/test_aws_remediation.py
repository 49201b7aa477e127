"""trailkit.aws.revoke_open_ingress against moto's EC2: dry run, exact revoke, idempotence."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import polars as pl
import pytest

import trailkit
from trailkit.aws import remediation
from trailkit.aws.session import AwsAccessDenied

REGION = "eu-west-1"
DATA = Path(__file__).parent / "data" / "aws"
FLAT_EVENT = json.loads(
    (DATA / "ec2_AuthorizeSecurityGroupIngress_flat_params_sdk.json").read_text()
)


def _rules(ec2, gid):
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [gid]}])[
        "SecurityGroupRules"
    ]
    return sorted(
        (
            r["IpProtocol"],
            r.get("FromPort"),
            r.get("ToPort"),
            r.get("CidrIpv4") or r.get("CidrIpv6"),
        )
        for r in rules
        if not r["IsEgress"]
    )


@pytest.fixture
def group(aws_session, moto_reset):
    """A security group with SSH open to the world (v4 and v6), RDP open, HTTPS open, SSH internal."""
    ec2 = aws_session.client("ec2", region_name=REGION)
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    gid = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=gid,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}, {"CidrIp": "10.0.0.0/8"}],
                "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 3389,
                "ToPort": 3389,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            },
        ],
    )
    added = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [gid]}])[
        "SecurityGroupRules"
    ]
    ids = {
        (r["FromPort"], r.get("CidrIpv4") or r.get("CidrIpv6")): r["SecurityGroupRuleId"]
        for r in added
        if not r["IsEgress"]
    }
    return ec2, gid, ids


def _finding(gid, rule_id=None, port=22, cidr="0.0.0.0/0"):
    return {
        "group_id": gid,
        "rule_id": rule_id,
        "protocol": "tcp",
        "from_port": port,
        "to_port": port,
        "cidr": cidr,
        "event_id": "e-1",
        "aws_region": REGION,
        "recipient_account_id": "123456789012",
    }


def test_dry_run_is_the_default_and_changes_nothing(group, aws_session, capsys):
    ec2, gid, ids = group
    before = _rules(ec2, gid)
    result = remediation.revoke_open_ingress(
        _finding(gid, ids[(22, "0.0.0.0/0")]), session=aws_session
    )
    assert result["status"] == "would-revoke" and result["dry_run"] is True
    assert result["permission_check"] == "allowed"
    assert [r["rule_id"] for r in result["rules"]] == [ids[(22, "0.0.0.0/0")]]
    assert _rules(ec2, gid) == before
    out = capsys.readouterr().out
    assert (
        "DRY RUN (no change made)" in out
        and "dry_run=False" in out
        and "tcp 22 from 0.0.0.0/0" in out
    )


def test_revokes_exactly_the_rule_then_is_idempotent(group, aws_session):
    ec2, gid, ids = group
    before = _rules(ec2, gid)
    finding = _finding(gid, ids[(22, "0.0.0.0/0")])
    result = remediation.revoke_open_ingress(
        finding, dry_run=False, session=aws_session, verbose=False
    )
    assert result["status"] == "revoked" and result["confirmed"] is True
    assert result["group_id"] == gid and result["region"] == REGION
    after = _rules(ec2, gid)
    assert sorted(set(before) - set(after)) == [("tcp", 22, 22, "0.0.0.0/0")]
    again = remediation.revoke_open_ingress(
        finding, dry_run=False, session=aws_session, verbose=False
    )
    assert again["status"] == "already-absent" and again["rules"] == []
    assert _rules(ec2, gid) == after


def test_without_rule_id_matches_the_exact_permission(group, aws_session):
    ec2, gid, _ids = group
    # a 1-row polars frame, CIDR written the way an anonymised event has it (canonicalised by EC2)
    row = pl.DataFrame([_finding(gid, None, port=3389, cidr="203.0.113.9/0")])
    result = remediation.revoke_open_ingress(row, dry_run=False, session=aws_session, verbose=False)
    assert result["status"] == "revoked" and result["confirmed"]
    assert ("tcp", 3389, 3389, "0.0.0.0/0") not in _rules(ec2, gid)
    assert ("tcp", 22, 22, "0.0.0.0/0") in _rules(ec2, gid)


def test_raw_event_ip_permissions_shape(group, aws_session):
    ec2, gid, _ids = group
    # SYNTHETIC record in the documented ipPermissions.items[] shape (older event: no rule ids)
    record = {
        "eventVersion": "1.08",
        "eventName": "AuthorizeSecurityGroupIngress",
        "eventSource": "ec2.amazonaws.com",
        "awsRegion": REGION,
        "eventID": "synthetic-1",
        "recipientAccountId": "123456789012",
        "eventTime": "2026-03-10T09:00:00Z",
        "userIdentity": {"type": "Root", "arn": "arn:aws:iam::123456789012:root"},
        "requestParameters": {
            "groupId": gid,
            "ipPermissions": {
                "items": [
                    {
                        "ipProtocol": "tcp",
                        "fromPort": 22,
                        "toPort": 22,
                        "groups": {},
                        "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}, {"cidrIp": "10.0.0.0/8"}]},
                        "ipv6Ranges": {"items": [{"cidrIpv6": "::/0"}]},
                        "prefixListIds": {},
                    }
                ]
            },
        },
        "responseElements": {"requestId": "r", "_return": True},
    }
    result = remediation.revoke_open_ingress(
        json.dumps(record), dry_run=False, session=aws_session, verbose=False
    )
    assert result["status"] == "revoked" and result["confirmed"]
    assert sorted(r["cidr"] for r in result["rules"]) == ["0.0.0.0/0", "::/0"]
    left = _rules(ec2, gid)
    assert ("tcp", 22, 22, "10.0.0.0/8") in left  # not world-open: kept
    assert ("tcp", 22, 22, "0.0.0.0/0") not in left and ("tcp", 22, 22, "::/0") not in left

    # the same event as a row of a normalised events frame: nothing left to do
    row = trailkit.normalize_records([record]).row(0, named=True)
    assert (
        remediation.revoke_open_ingress(row, dry_run=False, session=aws_session, verbose=False)[
            "status"
        ]
        == "already-absent"
    )


def test_raw_event_flat_shape_uses_the_rule_id(group, aws_session):
    ec2, gid, ids = group
    record = copy.deepcopy(FLAT_EVENT)  # real Stratus Red Team event (flat request shape)
    record["awsRegion"] = REGION
    record["requestParameters"]["groupId"] = gid
    item = record["responseElements"]["securityGroupRuleSet"]["items"][0]
    item["groupId"] = gid
    item["securityGroupRuleId"] = ids[(22, "0.0.0.0/0")]
    envelope = {
        "version": "0",
        "id": "x",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ec2",
        "account": "123456789012",
        "region": REGION,
        "time": record["eventTime"],
        "resources": [],
        "detail": record,
    }
    dry = remediation.revoke_open_ingress(envelope, session=aws_session, verbose=False)
    assert dry["status"] == "would-revoke"
    assert dry["rules"][0]["rule_id"] == ids[(22, "0.0.0.0/0")]
    result = remediation.revoke_open_ingress(
        envelope, dry_run=False, session=aws_session, verbose=False
    )
    assert result["status"] == "revoked" and result["confirmed"]
    assert ("tcp", 22, 22, "0.0.0.0/0") not in _rules(ec2, gid)


def test_rule_id_pointing_at_a_changed_rule_is_left_alone(group, aws_session):
    ec2, gid, ids = group
    before = _rules(ec2, gid)
    # the id now belongs to a rule whose content differs from the finding (modified since)
    finding = _finding(gid, ids[(443, "0.0.0.0/0")], port=8443)
    result = remediation.revoke_open_ingress(
        finding, dry_run=False, session=aws_session, verbose=False
    )
    assert result["status"] == "already-absent" and result["changed"]
    assert _rules(ec2, gid) == before


def test_group_gone(aws_session, moto_reset):
    result = remediation.revoke_open_ingress(
        _finding("sg-0123456789abcdef0"), dry_run=False, session=aws_session, verbose=False
    )
    assert result["status"] == "group-not-found"


def test_bad_findings(group, aws_session):
    ec2, gid, _ids = group
    with pytest.raises(trailkit.InputError, match="this frame has 2 rows"):
        remediation.revoke_open_ingress(pl.DataFrame([_finding(gid), _finding(gid)]))
    with pytest.raises(trailkit.InputError, match="lacks cidr"):
        remediation.revoke_open_ingress(
            {"group_id": gid, "protocol": "tcp", "from_port": 22, "to_port": 22}
        )
    failed = copy.deepcopy(FLAT_EVENT)
    failed["errorCode"] = "Client.UnauthorizedOperation"
    with pytest.raises(trailkit.InputError, match="failed .*opened nothing"):
        remediation.revoke_open_ingress(failed)
    with pytest.raises(trailkit.InputError, match="not AuthorizeSecurityGroupIngress"):
        remediation.revoke_open_ingress({"eventName": "RunInstances"})
    # an event that opened only port 443, restricted to SSH/RDP: nothing to do
    https = {
        "eventName": "AuthorizeSecurityGroupIngress",
        "awsRegion": REGION,
        "requestParameters": {
            "groupId": gid,
            "ipProtocol": "tcp",
            "fromPort": 443,
            "toPort": 443,
            "cidrIp": "0.0.0.0/0",
        },
    }
    res = remediation.revoke_open_ingress(
        https, ports=[22, 3389], session=aws_session, verbose=False
    )
    assert res["status"] == "nothing-to-do"


def test_denied_is_reported_with_the_permission(group, aws_session, moto_endpoint, moto_api):
    import boto3

    ec2, gid, ids = group
    iam = aws_session.client("iam")
    iam.create_user(UserName="viewer")
    iam.put_user_policy(
        UserName="viewer",
        PolicyName="describe-only",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Resource": "*",
                        "Action": ["ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules"],
                    }
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName="viewer")["AccessKey"]
    viewer = boto3.Session(
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        region_name=REGION,
    )
    viewer.endpoint_url = moto_endpoint
    finding = _finding(gid, ids[(22, "0.0.0.0/0")])
    moto_api("/moto-api/reset-auth", b"0")
    try:
        dry = remediation.revoke_open_ingress(finding, session=viewer, verbose=False)
        with pytest.raises(AwsAccessDenied) as err:
            remediation.revoke_open_ingress(finding, dry_run=False, session=viewer, verbose=False)
    finally:
        moto_api("/moto-api/reset-auth", b"inf")
    assert dry["status"] == "would-revoke" and dry["permission_check"] == "denied"
    assert "ec2:RevokeSecurityGroupIngress" in str(err.value) and gid in str(err.value)
    assert ("tcp", 22, 22, "0.0.0.0/0") in _rules(ec2, gid)


def test_failed_call_finding_opens_nothing(group, aws_session):
    ec2, gid, ids = group
    before = _rules(ec2, gid)
    finding = {**_finding(gid, ids[(22, "0.0.0.0/0")]), "success": False}
    res = remediation.revoke_open_ingress(
        finding, dry_run=False, session=aws_session, verbose=False
    )
    assert res["status"] == "nothing-to-do" and "failed call" in res["message"]
    assert _rules(ec2, gid) == before


def test_row_of_open_ingress_end_to_end(group, aws_session):
    """trailkit.open_ingress(events) -> one row -> revoke_open_ingress, on the real group."""
    ec2, gid, ids = group
    record = copy.deepcopy(FLAT_EVENT)
    record["awsRegion"] = REGION
    record["requestParameters"].update(groupId=gid, fromPort=3389, toPort=3389)
    item = record["responseElements"]["securityGroupRuleSet"]["items"][0]
    item.update(
        groupId=gid, securityGroupRuleId=ids[(3389, "0.0.0.0/0")], fromPort=3389, toPort=3389
    )
    findings = trailkit.open_ingress(trailkit.normalize_records([record]))
    assert findings.height == 1
    res = remediation.revoke_open_ingress(
        findings, dry_run=False, session=aws_session, verbose=False
    )
    assert res["status"] == "revoked" and res["confirmed"]
    assert res["rules"][0]["rule_id"] == ids[(3389, "0.0.0.0/0")]
    assert ("tcp", 3389, 3389, "0.0.0.0/0") not in _rules(ec2, gid)
