"""A deliberately half-good AWS account on a local moto server, for demos, notebooks and CI.

:func:`demo_account` starts moto's server on ``127.0.0.1`` (or uses one you give it) and builds
an account whose CloudTrail setup gets some best practices right and some wrong, so
:func:`trailkit.aws.audit_trails` has something to say. Nothing here touches real AWS: every
client goes to the local endpoint with dummy credentials. It is a teaching prop; the events in
its bucket are synthetic (``userAgent`` ``trailkit-demo``).

What it builds (account ``123456789012``):

* trail ``management-events``: multi-region, logging, log file validation on, sending to
  CloudWatch Logs with a root-activity metric filter but **no alarm**, **no KMS key**, into
  bucket ``trailkit-demo-central-logs`` (public access blocked, versioning on, **no MFA delete
  or Object Lock**, in the same account);
* trail ``legacy-single-region``: single-region, **stopped**, **no validation**, into bucket
  ``trailkit-demo-legacy-logs`` (**no public access block, a policy granting ``*``**);
* an organization with this account as management account but **no organization trail**;
* security group ``demo-web`` with SSH open to the world;
* two hours of synthetic log files in the central bucket (including a root console sign-in and
  the ``AuthorizeSecurityGroupIngress`` that opened SSH).

>>> demo = demo_account()  # doctest: +SKIP
>>> trailkit.aws.audit_trails(demo.session)  # doctest: +SKIP
>>> demo.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import gzip
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from trailkit.aws.session import error_code, get_session
from trailkit.errors import require

ACCOUNT = "123456789012"
CENTRAL_BUCKET = "trailkit-demo-central-logs"
LEGACY_BUCKET = "trailkit-demo-legacy-logs"
MAIN_TRAIL = "management-events"
LEGACY_TRAIL = "legacy-single-region"
LOG_GROUP = "CloudTrail/management-events"


@dataclass
class DemoAccount:
    """Handle on the demo account: a session pointed at the local server, and what was built."""

    session: Any
    endpoint_url: str
    account_id: str = ACCOUNT
    region: str = "us-east-1"
    central_bucket: str = CENTRAL_BUCKET
    legacy_bucket: str = LEGACY_BUCKET
    security_group_id: str | None = None
    security_group_region: str = "us-east-1"
    start: datetime | None = None
    end: datetime | None = None
    _server: Any = field(default=None, repr=False)

    def stop(self) -> None:
        """Stop the moto server this demo started (if it started one)."""
        if self._server is not None:
            self._server.stop()
            self._server = None


def _start_server():
    require("moto", "dev")
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def _bucket(s3, name: str, region: str) -> None:
    kwargs: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**kwargs)
    except Exception as exc:
        if error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def _cloudtrail_policy(bucket: str, extra: list[dict[str, Any]] | None = None) -> str:
    stmts = [
        {
            "Sid": "AWSCloudTrailAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:GetBucketAcl",
            "Resource": f"arn:aws:s3:::{bucket}",
        },
        {
            "Sid": "AWSCloudTrailWrite",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{ACCOUNT}/*",
            "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
        },
        *(extra or []),
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": stmts})


def _records(
    when: datetime, region: str, i: int, sg: str | None, rule: str | None
) -> list[dict[str, Any]]:
    def rec(name: str, source: str, identity: dict[str, Any], **more: Any) -> dict[str, Any]:
        base = {
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": "198.51.100.23",
            "userAgent": "trailkit-demo",
            "requestParameters": None,
            "responseElements": None,
            "requestID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"req-{when}-{name}-{i}")),
            "eventID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"evt-{when}-{name}-{i}")),
            "readOnly": name.startswith(("Describe", "List", "Get")),
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": ACCOUNT,
            "eventCategory": "Management",
        }
        base.update(more)
        return base

    alice = {
        "type": "IAMUser",
        "principalId": "AIDADEMOALICE0000001",
        "accountId": ACCOUNT,
        "arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
        "userName": "alice",
        "accessKeyId": "AKIADEMOALICE0000001",
    }
    root = {
        "type": "Root",
        "principalId": ACCOUNT,
        "arn": f"arn:aws:iam::{ACCOUNT}:root",
        "accountId": ACCOUNT,
    }
    out = [rec("DescribeInstances", "ec2.amazonaws.com", alice)]
    if i == 3:
        out.append(
            rec(
                "ConsoleLogin",
                "signin.amazonaws.com",
                root,
                eventType="AwsConsoleSignIn",
                readOnly=False,
                responseElements={"ConsoleLogin": "Success"},
                additionalEventData={"MFAUsed": "No", "MobileVersion": "No"},
            )
        )
    if i == 5 and sg:
        out.append(
            rec(
                "AuthorizeSecurityGroupIngress",
                "ec2.amazonaws.com",
                root,
                requestParameters={
                    "groupId": sg,
                    "ipPermissions": {
                        "items": [
                            {
                                "ipProtocol": "tcp",
                                "fromPort": 22,
                                "toPort": 22,
                                "groups": {},
                                "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]},
                                "ipv6Ranges": {},
                                "prefixListIds": {},
                            }
                        ]
                    },
                },
                responseElements={
                    "requestId": "demo",
                    "_return": True,
                    "securityGroupRuleSet": {
                        "items": [
                            {
                                "groupOwnerId": ACCOUNT,
                                "groupId": sg,
                                "securityGroupRuleId": rule,
                                "isEgress": False,
                                "ipProtocol": "tcp",
                                "fromPort": 22,
                                "toPort": 22,
                                "cidrIpv4": "0.0.0.0/0",
                            }
                        ]
                    },
                },
            )
        )
    return out


def demo_account(
    endpoint_url: str | None = None,
    *,
    region: str = "us-east-1",
    with_logs: bool = True,
    hours: int = 2,
) -> DemoAccount:
    """Build the half-good demo account on a local moto server (started here unless given).

    Parameters
    ----------
    endpoint_url
        A running moto server to build in (default: start one on a free loopback port).
    region
        The account's main region.
    with_logs
        Put ``hours`` of synthetic log files (every 5 minutes) into the central bucket.

    Returns
    -------
    DemoAccount
        ``.session`` talks to the local server; ``.stop()`` stops a server started here.

    Examples
    --------
    >>> demo = demo_account()  # doctest: +SKIP
    >>> demo.session.client("cloudtrail").describe_trails()["trailList"][0]["Name"]  # doctest: +SKIP
    'management-events'
    """
    server = None
    if endpoint_url is None:
        server, endpoint_url = _start_server()
    session = get_session(
        region=region,
        endpoint_url=endpoint_url,
        aws_access_key_id="demo",
        aws_secret_access_key="demo",  # noqa: S106 - moto's dummy credentials
    )
    s3 = session.client("s3")

    # central bucket: blocked, versioned, but no MFA delete / Object Lock
    _bucket(s3, CENTRAL_BUCKET, region)
    s3.put_public_access_block(
        Bucket=CENTRAL_BUCKET,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_versioning(Bucket=CENTRAL_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_policy(Bucket=CENTRAL_BUCKET, Policy=_cloudtrail_policy(CENTRAL_BUCKET))
    # legacy bucket: public
    _bucket(s3, LEGACY_BUCKET, region)
    s3.put_bucket_policy(
        Bucket=LEGACY_BUCKET,
        Policy=_cloudtrail_policy(
            LEGACY_BUCKET,
            [
                {
                    "Sid": "PublicRead",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{LEGACY_BUCKET}/*",
                }
            ],
        ),
    )

    # CloudWatch Logs with a root filter but no alarm
    logs = session.client("logs", region_name=region)
    try:
        logs.create_log_group(logGroupName=LOG_GROUP)
    except Exception as exc:
        if error_code(exc) != "ResourceAlreadyExistsException":
            raise
    from trailkit.aws.audit import ROOT_FILTER_PATTERN

    logs.put_metric_filter(
        logGroupName=LOG_GROUP,
        filterName="RootActivity",
        filterPattern=ROOT_FILTER_PATTERN,
        metricTransformations=[
            {
                "metricName": "RootActivityCount",
                "metricNamespace": "CloudTrailMetrics",
                "metricValue": "1",
            }
        ],
    )
    iam = session.client("iam")
    role = f"arn:aws:iam::{ACCOUNT}:role/CloudTrail_CloudWatchLogs_Role"
    try:
        role = iam.create_role(
            RoleName="CloudTrail_CloudWatchLogs_Role",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "sts:AssumeRole",
                            "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
    except Exception as exc:
        if error_code(exc) != "EntityAlreadyExists":
            raise

    ct = session.client("cloudtrail", region_name=region)
    existing = {t["Name"] for t in ct.describe_trails(includeShadowTrails=False)["trailList"]}
    if MAIN_TRAIL not in existing:
        ct.create_trail(
            Name=MAIN_TRAIL,
            S3BucketName=CENTRAL_BUCKET,
            IsMultiRegionTrail=True,
            IncludeGlobalServiceEvents=True,
            EnableLogFileValidation=True,
            CloudWatchLogsLogGroupArn=f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{LOG_GROUP}:*",
            CloudWatchLogsRoleArn=role,
        )
    ct.put_event_selectors(
        TrailName=MAIN_TRAIL,
        EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}],
    )
    ct.start_logging(Name=MAIN_TRAIL)
    if LEGACY_TRAIL not in existing:
        ct.create_trail(
            Name=LEGACY_TRAIL,
            S3BucketName=LEGACY_BUCKET,
            IsMultiRegionTrail=False,
            IncludeGlobalServiceEvents=False,
            EnableLogFileValidation=False,
        )

    org = session.client("organizations")
    try:
        org.create_organization(FeatureSet="ALL")
    except Exception as exc:
        if error_code(exc) != "AlreadyInOrganizationException":
            raise

    # an open port
    ec2 = session.client("ec2", region_name=region)
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["demo-web"]}])[
        "SecurityGroups"
    ]
    if groups:
        sg = groups[0]["GroupId"]
    else:
        sg = ec2.create_security_group(
            GroupName="demo-web", Description="demo web servers", VpcId=vpc
        )["GroupId"]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [sg]}])[
        "SecurityGroupRules"
    ]
    ssh = [
        r
        for r in rules
        if not r["IsEgress"] and r.get("FromPort") == 22 and r.get("CidrIpv4") == "0.0.0.0/0"
    ]
    if ssh:
        rule = ssh[0]["SecurityGroupRuleId"]
    else:
        rule = ec2.authorize_security_group_ingress(
            GroupId=sg, IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp="0.0.0.0/0"
        )["SecurityGroupRules"][0]["SecurityGroupRuleId"]

    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(hours=hours)
    if with_logs:
        t, i = start, 0
        while t < end:
            delivered = t + timedelta(minutes=5)
            key = (
                f"AWSLogs/{ACCOUNT}/CloudTrail/{region}/{delivered:%Y/%m/%d}/"
                f"{ACCOUNT}_CloudTrail_{region}_{delivered:%Y%m%dT%H%M}Z_demo{i:012d}.json.gz"
            )
            body = {"Records": _records(t + timedelta(minutes=2), region, i, sg, rule)}
            s3.put_object(
                Bucket=CENTRAL_BUCKET, Key=key, Body=gzip.compress(json.dumps(body).encode())
            )
            t, i = delivered, i + 1

    return DemoAccount(
        session=session,
        endpoint_url=endpoint_url,
        region=region,
        security_group_id=sg,
        security_group_region=region,
        start=start,
        end=end,
        _server=server,
    )
