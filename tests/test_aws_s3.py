"""trailkit.aws.s3 against moto's S3 server: window selection, cache, org trails, failure paths."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

import trailkit
from trailkit.aws import s3 as tks3
from trailkit.aws.session import AwsAccessDenied, AwsNotFound, NoLogsFound

BUCKET = "trail-logs"
A1 = "111122223333"
A2 = "444455556666"
ORG = "o-abcdef1234"


def _record(acct: str, region: str, when: datetime, name: str, n: int) -> dict:
    return {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "userName": "alice",
            "accountId": acct,
            "arn": f"arn:aws:iam::{acct}:user/alice",
            "principalId": "AIDAEXAMPLE",
        },
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "ec2.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "203.0.113.7",
        "eventID": f"{acct}-{region}-{when:%Y%m%d%H%M}-{n}",
        "eventType": "AwsApiCall",
        "recipientAccountId": acct,
    }


def put_log(
    s3,
    acct: str,
    region: str,
    delivered: datetime,
    *,
    prefix: str = "",
    org: str = "",
    records: list[dict] | None = None,
    bucket: str = BUCKET,
) -> str:
    """Write one delivered log file (events 3 minutes before delivery) and return its key."""
    recs = (
        records
        if records is not None
        else [
            _record(acct, region, delivered - timedelta(minutes=3), "DescribeInstances", 0),
            _record(acct, region, delivered - timedelta(minutes=2), "RunInstances", 1),
        ]
    )
    head = f"{prefix}/" if prefix else ""
    owner = f"{org}/{acct}" if org else acct
    key = (
        f"{head}AWSLogs/{owner}/CloudTrail/{region}/{delivered:%Y/%m/%d}/"
        f"{acct}_CloudTrail_{region}_{delivered:%Y%m%dT%H%M}Z_{delivered:%H%M}ABCDEFGHIJKL.json.gz"
    )
    s3.put_object(
        Bucket=bucket, Key=key, Body=gzip.compress(json.dumps({"Records": recs}).encode())
    )
    return key


def put_digest(
    s3, acct: str, region: str, end: datetime, *, prefix: str = "", org: str = ""
) -> str:
    head = f"{prefix}/" if prefix else ""
    owner = f"{org}/{acct}" if org else acct
    key = (
        f"{head}AWSLogs/{owner}/CloudTrail-Digest/{region}/{end:%Y/%m/%d}/"
        f"{acct}_CloudTrail-Digest_{region}_main_us-east-1_{end:%Y%m%dT%H%M%S}Z.json.gz"
    )
    body = gzip.compress(
        json.dumps({"digestEndTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"), "logFiles": []}).encode()
    )
    s3.put_object(
        Bucket=BUCKET,
        Key=key,
        Body=body,
        Metadata={"signature": "ab" * 8, "signature-algorithm": "SHA256withRSA"},
    )
    return key


def T(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def s3(aws_session, moto_reset):
    client = aws_session.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def test_fetches_only_the_window_and_reuses_the_cache(s3, aws_session, tmp_path):
    inside = [
        put_log(s3, A1, "eu-west-1", T(10, 0, 5)),
        put_log(s3, A1, "eu-west-1", T(10, 23, 55)),
        put_log(
            s3,
            A1,
            "eu-west-1",
            T(11, 0, 20),  # delivered late, within the slack
            records=[_record(A1, "eu-west-1", T(10, 23, 59), "TerminateInstances", 5)],
        ),
        put_log(s3, A1, "us-east-1", T(10, 12)),  # global-service events region
    ]
    outside = [
        put_log(s3, A1, "eu-west-1", T(9, 23, 50)),  # delivered before start
        put_log(s3, A1, "eu-west-1", T(11, 3, 0)),  # too late
        put_log(s3, A1, "ap-south-1", T(10, 12)),  # region not asked for
        put_log(s3, A2, "eu-west-1", T(10, 12)),  # account not asked for
    ]
    digest = put_digest(s3, A1, "eu-west-1", T(10, 1, 0))
    put_digest(s3, A1, "eu-west-1", T(9, 1, 0))  # before the window

    root = tks3.fetch_logs(
        BUCKET,
        accounts=[A1],
        regions=["eu-west-1"],
        start=T(10, 0),
        end=T(11, 0),
        dest=tmp_path,
        session=aws_session,
        progress=False,
    )
    assert root == tmp_path
    got = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.json.gz"))
    assert got == sorted([*inside, digest])
    assert not any(k in got for k in outside)
    meta = json.loads((tmp_path / (digest + ".metadata.json")).read_text())
    assert meta == {"signature": "ab" * 8, "signature-algorithm": "SHA256withRSA"}
    res = tks3.last_fetch()
    assert (res.downloaded, res.reused, len(res.log_files), len(res.digest_files)) == (5, 0, 4, 1)
    assert "us-east-1" in res.regions

    # the local folder loads as events
    df = trailkit.read_events(root, start=T(10, 0), end=T(11, 0))
    assert set(df["aws_region"]) == {"eu-west-1", "us-east-1"}
    assert df.height == 7 and "TerminateInstances" in set(df["event_name"])

    # second call: nothing downloaded again
    tks3.fetch_logs(
        BUCKET,
        accounts=[A1],
        regions=["eu-west-1"],
        start=T(10, 0),
        end=T(11, 0),
        dest=tmp_path,
        session=aws_session,
        progress=False,
    )
    res = tks3.last_fetch()
    assert (res.downloaded, res.reused) == (0, 5)

    # a changed object is downloaded again
    recs = [_record(A1, "eu-west-1", T(10, 0, 1), "StopInstances", 9)]
    put_log(s3, A1, "eu-west-1", T(10, 0, 5), records=recs)
    tks3.fetch_logs(
        BUCKET,
        accounts=[A1],
        regions=["eu-west-1"],
        start=T(10, 0),
        end=T(11, 0),
        dest=tmp_path,
        session=aws_session,
        progress=False,
    )
    assert tks3.last_fetch().downloaded == 1


def test_include_global_false_and_default_discovery(s3, aws_session, tmp_path):
    put_log(s3, A1, "eu-west-1", T(10, 6))
    put_log(s3, A1, "us-east-1", T(10, 6))
    put_log(s3, A2, "sa-east-1", T(10, 6))
    tks3.fetch_logs(
        BUCKET,
        regions="eu-west-1",
        include_global=False,
        start=T(10, 0),
        end=T(10, 12),
        dest=tmp_path / "a",
        session=aws_session,
        progress=False,
    )
    res = tks3.last_fetch()
    assert res.accounts == [A1, A2] and len(res.log_files) == 1
    # no filters: every account and region found in the bucket
    tks3.fetch_logs(
        BUCKET,
        start=T(10, 0),
        end=T(10, 12),
        dest=tmp_path / "b",
        session=aws_session,
        progress=False,
    )
    res = tks3.last_fetch()
    assert res.regions == ["eu-west-1", "sa-east-1", "us-east-1"] and len(res.log_files) == 3


def test_organization_trail_with_prefix(s3, aws_session, tmp_path):
    put_log(s3, A1, "eu-west-1", T(10, 6), prefix="org/trail", org=ORG)
    put_log(s3, A2, "eu-west-1", T(10, 6), prefix="org/trail", org=ORG)
    put_log(s3, A2, "us-east-1", T(10, 7), prefix="org/trail", org=ORG)
    root = tks3.fetch_logs(
        f"s3://{BUCKET}/org/trail",
        start=T(10, 0),
        end=T(10, 12),
        dest=tmp_path,
        session=aws_session,
        progress=False,
    )
    assert root == tmp_path / "org/trail"
    res = tks3.last_fetch()
    assert res.accounts == [A1, A2] and len(res.log_files) == 3
    assert all(f"AWSLogs/{ORG}/" in str(p) for p in res.log_files)
    # explicit org id and account, and a URL that goes down to one account and region
    tks3.fetch_logs(
        BUCKET,
        prefix="org/trail",
        org_id=ORG,
        accounts=[A2],
        start=T(10, 0),
        end=T(10, 12),
        dest=tmp_path,
        session=aws_session,
        progress=False,
    )
    assert len(tks3.last_fetch().log_files) == 2
    tks3.fetch_logs(
        f"s3://{BUCKET}/org/trail/AWSLogs/{ORG}/{A2}/CloudTrail/us-east-1",
        start=T(10, 0),
        end=T(10, 12),
        dest=tmp_path,
        session=aws_session,
        progress=False,
    )
    res = tks3.last_fetch()
    assert [p.name.split("_")[2] for p in res.log_files] == ["us-east-1"]


def test_read_events_s3_url(s3, moto_endpoint, monkeypatch, tmp_path):
    put_log(s3, A1, "eu-west-1", T(10, 6))
    put_log(s3, A1, "eu-west-1", T(12, 6))
    monkeypatch.setenv("TRAILKIT_AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("TRAILKIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    df = trailkit.read_events(f"s3://{BUCKET}/", start="2026-03-10", end="2026-03-11")
    assert df.height == 2 and set(df["event_name"]) == {"DescribeInstances", "RunInstances"}
    assert (tmp_path / "s3" / BUCKET / "AWSLogs").is_dir()
    with pytest.raises(trailkit.InputError, match="needs start="):
        trailkit.read_events(f"s3://{BUCKET}/")


def test_missing_bucket(aws_session, moto_reset, tmp_path):
    with pytest.raises(AwsNotFound, match="s3://no-such-bucket.*NoSuchBucket"):
        tks3.fetch_logs(
            "no-such-bucket",
            start=T(10, 0),
            end=T(11, 0),
            dest=tmp_path,
            session=aws_session,
            progress=False,
        )


def test_empty_window_names_bucket_and_folders(s3, aws_session, tmp_path):
    put_log(s3, A1, "eu-west-1", T(10, 6), prefix="ct")
    put_digest(s3, A1, "eu-west-1", T(20, 1), prefix="ct")
    with pytest.raises(NoLogsFound) as err:
        tks3.fetch_logs(
            BUCKET,
            prefix="ct",
            start=T(20, 0),
            end=T(20, 2),
            dest=tmp_path,
            session=aws_session,
            progress=False,
        )
    msg = str(err.value)
    assert f"s3://{BUCKET}/ct/AWSLogs/" in msg and "2026-03-20T00:00Z" in msg
    assert f"ct/AWSLogs/{A1}/CloudTrail/eu-west-1/2026/03/20/" in msg
    assert "Digest files exist" in msg
    # wrong prefix: says what is there
    with pytest.raises(NoLogsFound, match="Folders there: ct"):
        tks3.fetch_logs(
            BUCKET, start=T(10, 0), end=T(11, 0), dest=tmp_path, session=aws_session, progress=False
        )
    with pytest.raises(NoLogsFound, match="none of the requested accounts"):
        tks3.fetch_logs(
            BUCKET,
            prefix="ct",
            accounts=[A2],
            start=T(10, 0),
            end=T(11, 0),
            dest=tmp_path,
            session=aws_session,
            progress=False,
        )


def test_get_object_denied_by_bucket_policy(s3, aws_session, tmp_path):
    key = put_log(s3, A1, "eu-west-1", T(10, 6))
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/AWSLogs/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
    with pytest.raises(AwsAccessDenied) as err:
        tks3.fetch_logs(
            BUCKET, start=T(10, 0), end=T(11, 0), dest=tmp_path, session=aws_session, progress=False
        )
    msg = str(err.value)
    assert "s3:GetObject" in msg and f"s3://{BUCKET}/{key}" in msg and "kms:Decrypt" in msg
    assert not list(tmp_path.rglob("*.part"))


def test_list_denied_by_iam(s3, aws_session, moto_endpoint, moto_api, tmp_path):
    import boto3

    put_log(s3, A1, "eu-west-1", T(10, 6))
    iam = aws_session.client("iam")
    iam.create_user(UserName="investigator")
    iam.put_user_policy(
        UserName="investigator",
        PolicyName="get-only",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName="investigator")["AccessKey"]
    limited = boto3.Session(
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        region_name="us-east-1",
    )
    limited.endpoint_url = moto_endpoint  # read by trailkit.aws.session.client
    moto_api("/moto-api/reset-auth", b"0")
    try:
        with pytest.raises(AwsAccessDenied) as err:
            tks3.fetch_logs(
                BUCKET, start=T(10, 0), end=T(11, 0), dest=tmp_path, session=limited, progress=False
            )
    finally:
        moto_api("/moto-api/reset-auth", b"inf")
    msg = str(err.value)
    assert "s3:ListBucket" in msg and f"arn:aws:s3:::{BUCKET}" in msg and "AWSLogs/" in msg


def test_bad_arguments(aws_session, tmp_path):
    with pytest.raises(trailkit.InputError, match="12-digit"):
        tks3.fetch_logs(BUCKET, accounts=["123"], start=T(10, 0), end=T(11, 0), session=aws_session)
    with pytest.raises(trailkit.InputError, match="Swap them"):
        tks3.fetch_logs(BUCKET, start=T(11, 0), end=T(10, 0), session=aws_session)
    with pytest.raises(trailkit.InputError, match="not an s3:// URL"):
        tks3.parse_s3_url("https://x")


def test_investigator_policy_is_enough_to_fetch(s3, aws_session, moto_endpoint, moto_api, tmp_path):
    import boto3

    from trailkit.aws.policies import investigator_policy

    put_log(s3, A1, "eu-west-1", T(10, 6))
    put_digest(s3, A1, "eu-west-1", T(10, 7))
    iam = aws_session.client("iam")
    iam.create_user(UserName="investigator")
    iam.put_user_policy(
        UserName="investigator",
        PolicyName="read-only",
        PolicyDocument=json.dumps(investigator_policy(BUCKET, kms_key_arn=None)),
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
        tks3.fetch_logs(
            BUCKET, start=T(10, 0), end=T(11, 0), dest=tmp_path, session=inv, progress=False
        )
    finally:
        moto_api("/moto-api/reset-auth", b"inf")
    res = tks3.last_fetch()
    assert (len(res.log_files), len(res.digest_files)) == (1, 1)
