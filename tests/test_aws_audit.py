"""trailkit.aws.audit_trails on good and bad CloudTrail setups built on moto's server."""

from __future__ import annotations

import json

import boto3
import polars as pl
import pytest

from trailkit.aws import audit
from trailkit.aws.demo import demo_account

ACCOUNT = "123456789012"
ARCHIVE = "999999999999"


def _status(report: pl.DataFrame, check_id: str, trail: str | None = None) -> str:
    rows = report.filter(pl.col("check_id") == check_id)
    if trail is not None:
        rows = rows.filter(pl.col("trail") == trail)
    assert rows.height == 1, rows
    return rows["status"][0]


def _row(report, check_id, trail=None) -> dict:
    rows = report.filter(pl.col("check_id") == check_id)
    if trail is not None:
        rows = rows.filter(pl.col("trail") == trail)
    return rows.row(0, named=True)


def _other_account(aws_session, moto_endpoint, account=ARCHIVE):
    """A session in another account (moto maps assumed-role credentials to that account)."""
    creds = aws_session.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/admin", RoleSessionName="setup"
    )["Credentials"]
    other = boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name="us-east-1",
    )
    other.endpoint_url = moto_endpoint
    return other


@pytest.fixture
def good(aws_session, moto_endpoint, moto_reset):
    """Everything right: org trail, central Object-Lock bucket in a log-archive account, KMS, CW alarm."""
    archive = _other_account(aws_session, moto_endpoint)
    a3 = archive.client("s3", endpoint_url=moto_endpoint)
    a3.create_bucket(Bucket="org-log-archive", ObjectLockEnabledForBucket=True)
    a3.put_object_lock_configuration(
        Bucket="org-log-archive",
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 365}},
        },
    )
    a3.put_public_access_block(
        Bucket="org-log-archive",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    a3.put_bucket_policy(
        Bucket="org-log-archive",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AWSCloudTrailWrite",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": "arn:aws:s3:::org-log-archive/AWSLogs/*",
                    }
                ],
            }
        ),
    )
    aws_session.client("organizations").create_organization(FeatureSet="ALL")
    key = aws_session.client("kms").create_key()["KeyMetadata"]["Arn"]
    logs = aws_session.client("logs")
    logs.create_log_group(logGroupName="org-trail")
    logs.put_metric_filter(
        logGroupName="org-trail",
        filterName="cis-root",
        filterPattern='{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}',
        metricTransformations=[
            {"metricName": "RootUsage", "metricNamespace": "CIS", "metricValue": "1"}
        ],
    )
    aws_session.client("cloudwatch").put_metric_alarm(
        AlarmName="root-usage",
        MetricName="RootUsage",
        Namespace="CIS",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[f"arn:aws:sns:us-east-1:{ACCOUNT}:security-alerts"],
    )
    ct = aws_session.client("cloudtrail")
    ct.create_trail(
        Name="org-trail",
        S3BucketName="org-log-archive",
        IsMultiRegionTrail=True,
        IncludeGlobalServiceEvents=True,
        EnableLogFileValidation=True,
        KmsKeyId=key,
        IsOrganizationTrail=True,
        CloudWatchLogsLogGroupArn=f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:org-trail:*",
        CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ct-logs",
    )
    ct.put_event_selectors(
        TrailName="org-trail",
        EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}],
    )
    ct.start_logging(Name="org-trail")
    return aws_session


def test_good_setup_passes_every_check(good):
    report = audit.audit_trails(good)
    assert report.columns == list(audit._columns())
    assert report["status"].to_list() == ["pass"] * 7, report.select(
        "check_id", "status", "evidence"
    )
    assert report["passed"].all()
    ev = dict(zip(report["check_id"], report["evidence"], strict=True))
    assert "not in this account" in ev["2"]
    assert "Object Lock enabled, default retention COMPLIANCE 365" in ev["3"]
    assert "notifies arn:aws:sns" in ev["5"]
    assert "organization trail of o-" in ev["org"]
    assert (report["fix"] == "").all()


def test_no_trail_at_all(aws_session, moto_reset):
    report = audit.audit_trails(aws_session)
    assert report.filter(pl.col("check_id") != "org")["status"].unique().to_list() == ["fail"]
    assert report["trail"].null_count() == report.height
    assert "aws cloudtrail create-trail" in _row(report, "1")["fix"]
    assert "--is-multi-region-trail" in _row(report, "1")["fix"]
    assert _status(report, "org") == "n/a"


@pytest.fixture
def bad(aws_session, moto_reset):
    """A single-region, stopped trail without validation, CW Logs or KMS into a public bucket."""
    s3 = aws_session.client("s3")
    s3.create_bucket(Bucket="app-logs")
    s3.put_bucket_policy(
        Bucket="app-logs",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "Everyone",
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::app-logs/*",
                    },
                    {
                        "Sid": "OrgOnly",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::app-logs/*",
                        "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}},
                    },
                ],
            }
        ),
    )
    aws_session.client("cloudtrail").create_trail(
        Name="app", S3BucketName="app-logs", IsMultiRegionTrail=False
    )
    return aws_session


def test_bad_setup_fails_with_fixes(bad):
    report = audit.audit_trails(bad)
    assert {r["check_id"]: r["status"] for r in report.iter_rows(named=True)} == {
        "1": "fail",
        "2": "warn",
        "3": "fail",
        "4": "fail",
        "5": "fail",
        "kms": "fail",
        "org": "n/a",
    }
    one = _row(report, "1")
    assert "IsMultiRegionTrail=False" in one["evidence"] and "IsLogging=False" in one["evidence"]
    assert "update-trail --name app --is-multi-region-trail" in one["fix"]
    assert "start-logging --name app --region us-east-1" in one["fix"]
    assert "bucket lives in this account (123456789012)" in _row(report, "2")["evidence"]
    three = _row(report, "3")
    assert "public access NOT fully blocked" in three["evidence"]
    assert "grants '*' without a condition (statement Everyone)" in three["evidence"]
    assert "put-public-access-block --bucket app-logs" in three["fix"]
    assert "MFADelete=Enabled" in three["fix"] and "put-object-lock-configuration" in three["fix"]
    assert _row(report, "4")["fix"].startswith(
        "aws cloudtrail update-trail --name app --enable-log-file-validation"
    )
    five = _row(report, "5")
    assert "does not send events to CloudWatch Logs" in five["evidence"]
    assert "put-metric-filter" in five["fix"] and "put-metric-alarm" in five["fix"]
    assert "--kms-key-id" in _row(report, "kms")["fix"]
    assert not report.filter(pl.col("status") == "fail")["passed"].any()


def test_selectors_alarm_without_actions_and_missing_bucket(aws_session, moto_reset):
    s3 = aws_session.client("s3")
    s3.create_bucket(Bucket="central")
    s3.create_bucket(Bucket="gone")
    logs = aws_session.client("logs")
    logs.create_log_group(logGroupName="ct")
    logs.put_metric_filter(
        logGroupName="ct",
        filterName="root-login",
        filterPattern='{ $.eventName = "ConsoleLogin" && $.userIdentity.type = Root }',
        metricTransformations=[
            {"metricName": "RootLogin", "metricNamespace": "Sec", "metricValue": "1"}
        ],
    )
    aws_session.client("cloudwatch").put_metric_alarm(
        AlarmName="root-login",
        MetricName="RootLogin",
        Namespace="Sec",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    ct = aws_session.client("cloudtrail")
    ct.create_trail(
        Name="writes-only",
        S3BucketName="central",
        IsMultiRegionTrail=True,
        CloudWatchLogsLogGroupArn=f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:ct:*",
        CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/r",
    )
    ct.start_logging(Name="writes-only")
    ct.put_event_selectors(
        TrailName="writes-only",
        AdvancedEventSelectors=[
            {
                "Name": "mgmt",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Management"]},
                    {"Field": "readOnly", "Equals": ["false"]},
                ],
            }
        ],
    )
    ct.create_trail(Name="orphan", S3BucketName="gone", IsMultiRegionTrail=False)
    s3.delete_bucket(Bucket="gone")
    report = audit.audit_trails(aws_session)
    one = _row(report, "1", "writes-only")
    assert one["status"] == "fail" and "management events: write only" in one["evidence"]
    assert "put-event-selectors --trail-name writes-only" in one["fix"]
    assert _status(report, "1", "orphan") == "fail"  # no trail covers the account
    two = _row(report, "2", "orphan")
    assert two["status"] == "fail" and "bucket gone does not exist" in two["evidence"]
    assert _status(report, "3", "orphan") == "n/a"
    assert "2 buckets" in _row(report, "2", "writes-only")["evidence"]
    five = _row(report, "5", "writes-only")
    assert five["status"] == "warn" and "has no actions" in five["evidence"]


def test_unreadable_parts_are_errors_not_passes(bad, aws_session, moto_endpoint, moto_api):
    iam = aws_session.client("iam")
    iam.create_user(UserName="auditor")
    iam.put_user_policy(
        UserName="auditor",
        PolicyName="trails-only",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Resource": "*",
                        "Action": [
                            "cloudtrail:DescribeTrails",
                            "cloudtrail:ListTrails",
                            "cloudtrail:GetTrail",
                            "cloudtrail:GetTrailStatus",
                            "cloudtrail:GetEventSelectors",
                        ],
                    }
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    auditor = boto3.Session(
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        region_name="us-east-1",
    )
    auditor.endpoint_url = moto_endpoint
    moto_api("/moto-api/reset-auth", b"0")
    try:
        report = audit.audit_trails(auditor)
    finally:
        moto_api("/moto-api/reset-auth", b"inf")
    three = _row(report, "3")
    assert three["status"] == "error" and three["passed"] is None
    assert "s3:GetBucketPolicy" in three["evidence"]
    assert _status(report, "4") == "fail"  # still known from DescribeTrails
    assert _status(report, "org") == "error"


def test_demo_account_is_half_good(moto_endpoint, moto_reset):
    demo = demo_account(moto_endpoint)
    report = audit.audit_trails(demo.session)
    best = {line.split()[0]: line.split()[1] for line in audit.audit_summary(report).splitlines()}
    assert best == {
        "1": "PASS",
        "2": "WARN",
        "3": "FAIL",
        "4": "PASS",
        "5": "FAIL",
        "kms": "FAIL",
        "org": "FAIL",
    }
    assert _status(report, "1", "legacy-single-region") == "warn"
    assert "no alarm on metric" in _row(report, "5", "management-events")["evidence"]
    assert "PublicRead" in _row(report, "3", "legacy-single-region")["evidence"]
    assert demo.security_group_id and demo.start < demo.end
    demo.stop()  # did not start a server: no-op


def test_investigator_policy_is_enough(bad, aws_session, moto_endpoint, moto_api, tmp_path):
    """With exactly investigator_policy() (moto enforcing IAM), the audit reads everything."""
    from trailkit.aws.policies import investigator_policy

    iam = aws_session.client("iam")
    iam.create_user(UserName="investigator")
    iam.put_user_policy(
        UserName="investigator",
        PolicyName="read-only",
        PolicyDocument=json.dumps(investigator_policy("app-logs", kms_key_arn=None)),
    )
    key = iam.create_access_key(UserName="investigator")["AccessKey"]
    inv = boto3.Session(
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        region_name="us-east-1",
    )
    inv.endpoint_url = moto_endpoint
    moto_api("/moto-api/reset-auth", b"0")
    try:
        report = audit.audit_trails(inv)
    finally:
        moto_api("/moto-api/reset-auth", b"inf")
    assert "error" not in report["status"].to_list(), report.select(
        "check_id", "status", "evidence"
    )
