"""The EventBridge → Lambda remediation handler, invoked with real event shapes against moto.

The event reaches the handler the way it would in AWS: an EventBridge rule with
``EVENT_PATTERN`` on moto's event bus routes the "AWS API Call via CloudTrail" event to a
target (an SQS queue here, standing in for the Lambda), and the handler gets what arrived.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from trailkit.aws import lambda_remediation as lr

REGION = "eu-west-1"
RECORD = json.loads(
    (
        Path(__file__).parent
        / "data"
        / "aws"
        / "ec2_AuthorizeSecurityGroupIngress_flat_params_sdk.json"
    ).read_text()
)


@pytest.fixture
def lambda_env(monkeypatch, moto_endpoint, moto_reset):
    """The Lambda runtime's environment: region, credentials from the environment, endpoint."""
    for var in ("AWS_PROFILE", "PORTS", "DRY_RUN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("TRAILKIT_AWS_ENDPOINT_URL", moto_endpoint)
    return monkeypatch


@pytest.fixture
def group(aws_session, lambda_env):
    ec2 = aws_session.client("ec2", region_name=REGION)
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    gid = ec2.create_security_group(GroupName="bastion", Description="b", VpcId=vpc)["GroupId"]
    return ec2, gid


def _open(ec2, gid, port, cidr="0.0.0.0/0"):
    return ec2.authorize_security_group_ingress(
        GroupId=gid, IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp=cidr
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]


def _ingress(ec2, gid):
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [gid]}])[
        "SecurityGroupRules"
    ]
    return sorted((r["FromPort"], r.get("CidrIpv4")) for r in rules if not r["IsEgress"])


def _record(gid, rule_id, port=22, cidr="0.0.0.0/0"):
    rec = copy.deepcopy(RECORD)
    rec["awsRegion"] = REGION
    rec["recipientAccountId"] = "123456789012"
    rp = rec["requestParameters"]
    rp.update(groupId=gid, fromPort=port, toPort=port, cidrIp=cidr)
    item = rec["responseElements"]["securityGroupRuleSet"]["items"][0]
    item.update(groupId=gid, securityGroupRuleId=rule_id, fromPort=port, toPort=port, cidrIpv4=cidr)
    return rec


def _through_eventbridge(aws_session, record) -> list[dict]:
    """Put ``record`` on moto's default bus; return what the rule with EVENT_PATTERN delivered."""
    events = aws_session.client("events", region_name=REGION)
    sqs = aws_session.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="remediation")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="open-ingress", EventPattern=json.dumps(lr.EVENT_PATTERN))
    events.put_targets(Rule="open-ingress", Targets=[{"Id": "handler", "Arn": arn}])
    events.put_events(
        Entries=[
            {
                "Source": "aws.ec2",
                "DetailType": "AWS API Call via CloudTrail",
                "Detail": json.dumps(record),
            }
        ]
    )
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return [json.loads(m["Body"]) for m in msgs.get("Messages", [])]


def test_eventbridge_event_reaches_handler_and_ssh_is_revoked(group, aws_session):
    ec2, gid = group
    ssh = _open(ec2, gid, 22)
    _open(ec2, gid, 443)
    delivered = _through_eventbridge(aws_session, _record(gid, ssh))
    assert len(delivered) == 1 and delivered[0]["detail-type"] == "AWS API Call via CloudTrail"
    result = lr.lambda_handler(delivered[0], None)
    assert result["status"] == "revoked" and result["confirmed"] is True
    assert [r["rule_id"] for r in result["rules"]] == [ssh]
    assert result["actor"] == RECORD["userIdentity"]["arn"]
    assert _ingress(ec2, gid) == [(443, "0.0.0.0/0")]
    # EventBridge may deliver twice: the second run changes nothing
    assert lr.lambda_handler(delivered[0], None)["status"] == "already-absent"


def test_pattern_skips_failed_calls_and_other_events(group, aws_session):
    _ec2, gid = group
    failed = _record(gid, "sgr-0")
    failed["errorCode"] = "Client.UnauthorizedOperation"
    other = copy.deepcopy(failed)
    other.pop("errorCode")
    other["eventName"] = "RevokeSecurityGroupIngress"
    assert _through_eventbridge(aws_session, failed) == []
    sqs = aws_session.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName="remediation")["QueueUrl"]
    aws_session.client("events", region_name=REGION).put_events(
        Entries=[
            {
                "Source": "aws.ec2",
                "DetailType": "AWS API Call via CloudTrail",
                "Detail": json.dumps(other),
            }
        ]
    )
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)


def test_rdp_without_rule_id_and_ports_setting(group, lambda_env):
    ec2, gid = group
    _open(ec2, gid, 3389)
    _open(ec2, gid, 8080)
    rec = _record(gid, None, port=3389)
    rec["responseElements"] = {"requestId": "r", "_return": True}  # older event: no rule ids
    assert (
        lr.lambda_handler({"detail-type": "AWS API Call via CloudTrail", "detail": rec}, None)[
            "status"
        ]
        == "revoked"
    )
    assert _ingress(ec2, gid) == [(8080, "0.0.0.0/0")]
    # port 8080 is not in PORTS: ignored; with PORTS=8080 it is revoked (dry run first)
    rec8080 = _record(gid, None, port=8080)
    rec8080["responseElements"] = {}
    assert lr.lambda_handler({"detail": rec8080, "detail-type": "x"}, None)["status"] == "ignored"
    lambda_env.setenv("PORTS", "8080")
    lambda_env.setenv("DRY_RUN", "true")
    dry = lr.lambda_handler({"detail": rec8080, "detail-type": "x"}, None)
    assert dry["status"] == "would-revoke" and dry["permission_check"] == "allowed"
    assert _ingress(ec2, gid) == [(8080, "0.0.0.0/0")]
    lambda_env.setenv("DRY_RUN", "false")
    assert lr.lambda_handler({"detail": rec8080, "detail-type": "x"}, None)["status"] == "revoked"
    assert _ingress(ec2, gid) == []


def test_internal_cidr_and_other_events_are_ignored(group, lambda_env, capsys):
    ec2, gid = group
    rid = _open(ec2, gid, 22, "10.0.0.0/8")
    out = lr.lambda_handler(
        {"detail": _record(gid, rid, cidr="10.0.0.0/8"), "detail-type": "x"}, None
    )
    assert out["status"] == "ignored" and "no world-open rule" in out["reason"]
    assert _ingress(ec2, gid) == [(22, "10.0.0.0/8")]
    assert (
        lr.lambda_handler({"detail": {"eventName": "RunInstances"}, "detail-type": "x"}, None)[
            "status"
        ]
        == "ignored"
    )
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [x["status"] for x in logged] == ["ignored", "ignored"]


def test_policy_is_least_privilege_and_sufficient(group, aws_session, lambda_env, moto_api):
    """Run the handler with credentials that have exactly lambda_policy() (moto IAM enforcement)."""
    ec2, gid = group
    ssh = _open(ec2, gid, 22)
    policy = lr.lambda_policy("123456789012")
    actions = sorted(
        a
        for s in policy["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    )
    assert actions == [
        "ec2:DescribeSecurityGroupRules",
        "ec2:DescribeSecurityGroups",
        "ec2:RevokeSecurityGroupIngress",
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]
    assert all(
        s["Effect"] == "Allow" and s["Resource"] != "*"
        for s in policy["Statement"]
        if not s["Action"][0].startswith("ec2:Describe")
    )
    iam = aws_session.client("iam")
    iam.create_user(UserName="lambda")
    # moto checks EC2 actions against resource "*", so the scoped Resource is widened here
    runnable = copy.deepcopy(policy)
    runnable["Statement"][1]["Resource"] = "*"
    iam.put_user_policy(UserName="lambda", PolicyName="p", PolicyDocument=json.dumps(runnable))
    key = iam.create_access_key(UserName="lambda")["AccessKey"]
    lambda_env.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    lambda_env.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    moto_api("/moto-api/reset-auth", b"0")
    try:
        result = lr.lambda_handler({"detail": _record(gid, ssh), "detail-type": "x"}, None)
    finally:
        moto_api("/moto-api/reset-auth", b"inf")
    assert result["status"] == "revoked" and result["confirmed"]


def test_handler_file_deploys_on_its_own():
    """The Lambda zip holds this one file: it may import only the standard library and boto3."""
    import ast
    import sys

    tree = ast.parse(Path(lr.__file__).read_text())
    names = {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    names |= {
        n.module.split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module and n.level == 0
    }
    assert names - set(sys.stdlib_module_names) <= {"boto3"}, names
