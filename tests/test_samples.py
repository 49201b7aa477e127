"""trailkit.samples: deterministic sample logs in the real delivery layout, incidents included."""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

import trailkit
from trailkit.samples import INCIDENTS, GenerationSummary, generate, generate_bulk

LAYOUT = re.compile(
    r"^AWSLogs/o-[a-z0-9]{10,32}/(?P<acct>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P=acct)_CloudTrail_(?P=region)_"
    r"(?P<ts>\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz$")


def _tree(root: Path) -> dict[str, bytes]:
    """The log files (not the CloudTrail-Digest files signed beside them) by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.json.gz"))
            if "/CloudTrail/" in p.as_posix()}


def _at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, GenerationSummary]:
    root = tmp_path_factory.mktemp("samples")
    return root, generate(root, seed=5, scale=0.03)


@pytest.fixture(scope="module")
def events(sample) -> pl.DataFrame:
    root, _ = sample
    df = trailkit.read_events(root, cache=False, progress=False)
    assert trailkit.last_report().ok, trailkit.last_report()
    return df


def test_same_seed_gives_identical_bytes(sample, tmp_path):
    root, summary = sample
    again = generate(tmp_path, seed=5, scale=0.03)
    assert (again.events, again.files) == (summary.events, summary.files)
    assert _tree(tmp_path) == _tree(root)
    assert "planted incidents" in str(again) and f"{again.events:,}" in str(again)


def test_layout_and_delivery_time(sample):
    root, summary = sample
    files = _tree(root)
    assert len(files) == summary.files > 50
    for rel, data in files.items():
        m = LAYOUT.match(rel)
        assert m, rel
        assert m["acct"] in ("111122223333", "444455556666")
        assert m["ts"][:8] == m["y"] + m["m"] + m["d"]  # foldered by delivery date
        delivered = datetime.strptime(m["ts"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
        records = json.loads(gzip.decompress(data))["Records"]
        newest = max(_at(r["eventTime"]) for r in records)
        assert 0 <= (delivered - newest).total_seconds() <= 600
        assert {r["recipientAccountId"] for r in records} == {m["acct"]}
        assert {r["awsRegion"] for r in records} == {m["region"]}


def test_records_are_compact_and_start_with_event_version(sample):
    root, _ = sample
    for data in list(_tree(root).values())[:200]:
        raw = gzip.decompress(data)
        assert raw.startswith(b'{"Records":[{"eventVersion"') and b"\n" not in raw
        records = json.loads(raw)["Records"]
        assert json.dumps({"Records": records}, separators=(",", ":"), ensure_ascii=False).encode() == raw
        assert all(next(iter(r)) == "eventVersion" for r in records)
        assert raw.count(b'{"eventVersion"') == len(records)


def test_loads_without_problems(sample, events):
    _, summary = sample
    assert events.height == summary.events
    assert events["event_id"].n_unique() == events.height
    kinds = set(events["identity_type"].drop_nulls())
    assert {"IAMUser", "AssumedRole", "AWSService", "AWSAccount", "FederatedUser", "SAMLUser",
            "WebIdentityUser", "IdentityCenterUser", "Unknown", "Root"} <= kinds


def test_bucket_deletion_is_attributable(events):
    inc = INCIDENTS["bucket_deletion"]
    deletes = events.filter(pl.col("event_name") == "DeleteBucket", pl.col("success"),
                            pl.col("request_parameters").str.json_path_match("$.bucketName") == inc["bucket"])
    assert deletes.height == 1
    row = deletes.row(0, named=True)
    assert row["event_time"] == _at(inc["deleted_at"])
    assert row["actor"] == inc["actor"] and row["source_ip"] == inc["source_ip"]
    assert row["access_key_id"] == inc["session_access_key_id"] and row["aws_region"] == inc["region"]
    assert row["response_elements"] is None or row["response_elements"] == "null"
    assert inc["bucket_arn"] in row["resources"]
    creator = events.filter(
        pl.col("event_name") == "AssumeRole",
        pl.col("response_elements").str.json_path_match("$.credentials.accessKeyId") == row["access_key_id"])
    assert creator.height == 1
    c = creator.row(0, named=True)
    assert c["actor"] == inc["assumed_by"] == "bob.contractor"
    assert c["access_key_id"] == inc["assumed_by_access_key_id"] and c["access_key_id"].startswith("AKIA")
    assert c["event_time"] == _at(inc["assume_role_at"]) and c["source_ip"] == inc["source_ip"]
    assert c["event_source"] == "sts.amazonaws.com" and c["aws_region"] == "us-east-1"
    failed = events.filter(pl.col("event_name") == "DeleteBucket", pl.col("error_code") == "BucketNotEmpty")
    assert failed["event_time"].to_list() == [_at(inc["failed_delete_at"])]
    first_seen = events.filter(pl.col("source_ip") == inc["source_ip"])["event_time"].min()
    assert first_seen >= _at("2026-03-11T00:00:00Z")
    data = events.filter(pl.col("event_name") == "DeleteObjects")
    assert data.height == 4 and data["event_category"].unique().to_list() == ["Data"]
    assert not data["management_event"].any()
    decoy = events.filter(pl.col("event_name") == "DeleteBucket", pl.col("recipient_account_id") == "444455556666")
    assert decoy["actor"].to_list() == [inc["decoy"]["actor"]]


def test_ssh_open_and_revoked(events):
    inc = INCIDENTS["ssh_open"]
    sg = events.filter(pl.col("request_parameters").str.contains(inc["group_id"], literal=True),
                       pl.col("event_name").str.ends_with("SecurityGroupIngress"))
    opened = sg.filter(pl.col("event_name") == "AuthorizeSecurityGroupIngress").row(0, named=True)
    revoked = sg.filter(pl.col("event_name") == "RevokeSecurityGroupIngress").row(0, named=True)
    assert opened["actor"] == inc["actor"] and opened["event_time"] == _at(inc["opened_at"])
    req, resp = json.loads(opened["request_parameters"]), json.loads(opened["response_elements"])
    perm = req["ipPermissions"]["items"][0]
    assert (perm["fromPort"], perm["toPort"], perm["ipRanges"]["items"][0]["cidrIp"]) == (22, 22, "0.0.0.0/0")
    assert resp["securityGroupRuleSet"]["items"][0]["securityGroupRuleId"] == inc["rule_id"]
    assert revoked["actor"] == inc["revoked_by"]
    assert (revoked["event_time"] - opened["event_time"]).total_seconds() == inc["open_seconds"]
    rdp = events.filter(pl.col("request_parameters").str.json_path_match("$.fromPort") == "3389")
    assert rdp.height == 1 and rdp["aws_region"].item() == "us-west-2"


def test_huge_instances(events):
    inc = INCIDENTS["huge_instances"]
    runs = events.filter(pl.col("event_name") == "RunInstances", pl.col("actor").str.starts_with("DeveloperRole/"))
    assert runs.height == len(inc["launches"])
    lt = [x for x in inc["launches"] if not x["type_in_request"]][0]
    row = runs.filter(pl.col("event_time") == _at(lt["time"])).row(0, named=True)
    assert "instanceType" not in json.loads(row["request_parameters"])
    assert lt["instance_type"] in row["response_elements"]
    failed = runs.filter(pl.col("error_code") == "Client.UnauthorizedOperation")
    assert failed.height == 1 and "Encoded authorization failure message" in failed["error_message"].item()
    stops = events.filter(pl.col("event_name").is_in(["StopInstances", "TerminateInstances"]),
                          pl.col("actor").str.starts_with("DeveloperRole/"))
    assert stops.height == len(inc["state_changes"])


def test_root_login_without_mfa(events):
    inc = INCIDENTS["root_login"]
    logins = events.filter(pl.col("event_name") == "ConsoleLogin", pl.col("identity_type") == "Root",
                           pl.col("recipient_account_id") == inc["account"]).sort("event_time")
    assert logins["event_time"].to_list() == [_at(inc["failed_at"]), _at(inc["at"])]
    assert logins["success"].to_list() == [False, True]
    ok = logins.row(1, named=True)
    assert ok["mfa_authenticated"] is False and ok["source_ip"] == inc["source_ip"]
    assert ok["principal_arn"] == "arn:aws:iam::111122223333:root" and ok["event_type"] == "AwsConsoleSignIn"


def test_rare_region_and_xss_probe(events):
    inc, probe = INCIDENTS["rare_region"], INCIDENTS["xss_probe"]
    rare = events.filter(pl.col("aws_region") == inc["region"])
    assert set(rare["actor"]) == {"ci-deploy"} and set(rare["source_ip"]) == {inc["source_ip"]}
    run = rare.filter(pl.col("event_name") == "RunInstances").row(0, named=True)
    assert all(i in run["response_elements"] for i in inc["instance_ids"])
    xss = events.filter(pl.col("user_agent") == probe["user_agent"])
    assert xss.height == 1 and xss["error_code"].item() == "AccessDenied"


def test_bulk_layout_count_and_determinism(tmp_path):
    a = generate_bulk(tmp_path / "a", events=5000, seed=3, days=1, processes=1)
    b = generate_bulk(tmp_path / "b", events=5000, seed=3, days=1, processes=1)
    assert a.events == b.events == 5000 and "5,000" in str(a)
    files = _tree(tmp_path / "a")
    assert files == _tree(tmp_path / "b") and len(files) == a.files
    assert all(LAYOUT.match(rel) for rel in files)
    df = trailkit.read_events(tmp_path / "a", cache=False, progress=False)
    assert trailkit.last_report().ok and df.height == 5000


def test_summary_is_the_same_text_every_time(events):
    """Rankings break ties by name: group_by order varies from run to run, the summary must not."""
    from trailkit.summary import summarize

    shuffled = events.sample(fraction=1.0, shuffle=True, seed=3)
    first = summarize(events)
    assert summarize(shuffled) == first
    errors = first.split("Most common errors:")[1].split("\n\n")[0].splitlines()[3:]
    counts = [(-int(line.split()[-1]), line.split()[0], line.split()[1]) for line in errors if "more" not in line]
    assert counts == sorted(counts)
