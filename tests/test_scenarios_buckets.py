"""trailkit.who_deleted_bucket on real records (tests/data/scenarios/, see SOURCE.md) and on
synthetic ones built here (marked)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import polars as pl
import pytest

import trailkit
from trailkit.scenarios.buckets import COLUMNS, who_deleted_bucket

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


def s3(t, eid, name, bucket, *, who, error=None, **params):
    """Synthetic S3 bucket-level event."""
    rec = {
        "eventTime": t,
        "eventID": eid,
        "eventName": name,
        "eventSource": "s3.amazonaws.com",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15",
        "recipientAccountId": "111122223333",
        "userIdentity": who,
        "requestParameters": {"bucketName": bucket, **params} if bucket is not None else params,
    }
    if error:
        rec["errorCode"] = error
        rec["errorMessage"] = "The bucket you tried to delete is not empty"
    return rec


ACCT = "111122223333"
SESSION = {
    "type": "AssumedRole",
    "accessKeyId": "ASIACLEANUPJOB",
    "arn": f"arn:aws:sts::{ACCT}:assumed-role/S3AdminRole/cleanup-job",
    "accountId": ACCT,
    "sessionContext": {
        "sessionIssuer": {
            "type": "Role",
            "userName": "S3AdminRole",
            "arn": f"arn:aws:iam::{ACCT}:role/S3AdminRole",
        }
    },
}


def incident() -> pl.DataFrame:
    """Synthetic: bob.contractor assumes S3AdminRole/cleanup-job, weakens the bucket, deletes it."""
    return normalize(
        [
            {
                "eventTime": "2026-03-10T08:59:00Z",
                "eventID": "sts-1",
                "eventName": "AssumeRole",
                "eventSource": "sts.amazonaws.com",
                "awsRegion": "us-east-1",
                "userIdentity": {
                    "type": "IAMUser",
                    "userName": "bob.contractor",
                    "accessKeyId": "AKIABOB",
                    "arn": f"arn:aws:iam::{ACCT}:user/bob.contractor",
                    "accountId": ACCT,
                },
                "requestParameters": {
                    "roleArn": f"arn:aws:iam::{ACCT}:role/S3AdminRole",
                    "roleSessionName": "cleanup-job",
                },
                "responseElements": {
                    "credentials": {
                        "accessKeyId": "ASIACLEANUPJOB",
                        "expiration": "Mar 10, 2026, 9:59:00 AM",
                    },
                    "assumedRoleUser": {
                        "arn": f"arn:aws:sts::{ACCT}:assumed-role/S3AdminRole/cleanup-job"
                    },
                },
            },
            s3(
                "2026-03-10T09:00:00Z",
                "pab",
                "PutBucketPublicAccessBlock",
                "acme-prod-customer-exports",
                who=SESSION,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": False,
                    "RestrictPublicBuckets": False,
                },
            ),
            s3(
                "2026-03-10T09:01:00Z",
                "acl",
                "PutBucketAcl",
                "acme-prod-customer-exports",
                who=SESSION,
                AccessControlPolicy={
                    "AccessControlList": {
                        "Grant": [
                            {
                                "Grantee": {
                                    "xsi:type": "Group",
                                    "URI": "http://acs.amazonaws.com/groups/global/AllUsers",
                                },
                                "Permission": "READ",
                            }
                        ]
                    }
                },
            ),
            s3(
                "2026-03-10T09:02:00Z",
                "del-fail",
                "DeleteBucket",
                "acme-prod-customer-exports",
                who=SESSION,
                error="BucketNotEmpty",
            ),
            s3(
                "2026-03-10T09:05:00Z",
                "del-ok",
                "DeleteBucket",
                "acme-prod-customer-exports",
                who=SESSION,
            ),
            s3(
                "2026-03-10T09:06:00Z",
                "other",
                "PutBucketPolicy",
                "unrelated-bucket",
                who=SESSION,
                bucketPolicy={
                    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}]
                },
            ),
        ]
    )


def test_real_delete_bucket_events():
    out = who_deleted_bucket(
        normalize(
            load(
                "iam-user-guide/s3_DeleteBucket_awsdoc.json",
                "panther-analysis/s3_DeleteBucket_console_vpce.json",
                "panther-analysis/s3_PutBucketPolicy_public.json",
            )
        )
    )
    assert out["bucket"].to_list() == ["my-test-bucket-cross-account", "secrets"]  # sorted by time
    secrets = out.filter(bucket="secrets").row(0, named=True)
    assert secrets["success"] is True  # errorCode "" is not an error
    assert secrets["actor"] == "BucketAdministrator/user_name"
    assert secrets["vpc_endpoint_id"] == "vpce-aaa333c9"
    assert secrets["user_agent"].startswith("[S3Console/0.4")
    assert secrets["aws_region"] == "us-east-2"
    assert secrets["source_ip"] == "157.130.196.214"
    assert secrets["bucket_from"] == "request_parameters"
    # no STS events loaded: say so instead of guessing
    assert secrets["session_started_by"] is None
    assert "no AssumeRole event" in secrets["attribution_note"]
    assert out.columns == list(COLUMNS)


def test_real_public_bucket_policy_is_flagged():
    out = who_deleted_bucket(
        normalize(load("panther-analysis/s3_PutBucketPolicy_public.json")), "example-bucket"
    )
    r = out.row(0, named=True)
    assert r["opens_public_access"] is True
    assert "Principal *" in r["change"]


def test_incident_names_the_person_behind_the_role():
    out = who_deleted_bucket(incident())
    assert out["event_id"].to_list() == [
        "pab",
        "acl",
        "del-fail",
        "del-ok",
    ]  # unrelated bucket left out
    deleted = out.filter(event_name="DeleteBucket", success=True).row(0, named=True)
    assert deleted["bucket"] == "acme-prod-customer-exports"
    assert deleted["actor"] == "S3AdminRole/cleanup-job"
    assert deleted["session_started_by"] == "bob.contractor"
    assert deleted["started_by_arn"] == f"arn:aws:iam::{ACCT}:user/bob.contractor"
    assert deleted["attribution_chain"] == "bob.contractor → S3AdminRole/cleanup-job"
    assert deleted["attribution_evidence"] == ["sts-1"]
    failed = out.filter(event_id="del-fail").row(0, named=True)
    assert failed["success"] is False
    assert failed["change"] == "FAILED: bucket deleted (BucketNotEmpty)"
    pab = out.filter(event_id="pab").row(0, named=True)
    assert pab["opens_public_access"] is True
    assert (
        pab["change"]
        == "public access block weakened: BlockPublicPolicy=false, RestrictPublicBuckets=false"
    )
    assert out.filter(event_id="acl")["opens_public_access"].item() is True
    assert out["event_time"].is_sorted()


def test_bucket_filter_and_related_switch():
    events = incident()
    only = who_deleted_bucket(events, "unrelated-bucket")
    assert only["event_id"].to_list() == ["other"]  # asked for by name: shown though never deleted
    assert only["opens_public_access"].item() is True
    assert who_deleted_bucket(events, related=False)["event_id"].to_list() == ["del-fail", "del-ok"]
    assert who_deleted_bucket(events, ["nope"]).height == 0


def test_bucket_name_falls_back_to_resources():
    rec = s3(
        "2026-03-10T09:00:00Z",
        "r1",
        "DeleteBucket",
        "",
        who={"type": "Root", "arn": f"arn:aws:iam::{ACCT}:root"},
    )
    rec["resources"] = [
        {"ARN": "arn:aws:s3:::from-resources", "type": "AWS::S3::Bucket", "accountId": ACCT}
    ]
    out = who_deleted_bucket(normalize([rec]))
    assert out.select("bucket", "bucket_from", "actor").row(0) == (
        "from-resources",
        "resources",
        "root",
    )
    assert out["attribution_method"].item() == "direct"


def test_no_deletions_gives_an_empty_frame_with_the_columns():
    out = who_deleted_bucket(normalize(load("panther-analysis/s3_PutBucketPolicy_public.json")))
    assert out.height == 0
    assert out.columns == list(COLUMNS)
    assert who_deleted_bucket(trailkit.normalize_records([])).columns == list(COLUMNS)


def test_bad_input():
    with pytest.raises(ValueError, match="read_events"):
        who_deleted_bucket(pl.DataFrame({"event_name": ["DeleteBucket"]}))
