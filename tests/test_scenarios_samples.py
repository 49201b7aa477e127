"""The scenario answers on the shipped sample logs: the incidents planted by trailkit.samples.

Skipped until ``data/samples`` exists (fixture ``sample_events`` in conftest.py).
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

import trailkit


@pytest.fixture(scope="module")
def incidents():
    samples = pytest.importorskip("trailkit.samples")
    return samples.INCIDENTS


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_bucket_deleted_by_bob_through_the_cleanup_role(sample_events, incidents):
    inc = incidents["bucket_deletion"]
    assert inc["bucket"] == "acme-prod-customer-exports"
    out = trailkit.who_deleted_bucket(sample_events)
    deleted = out.filter(
        (pl.col("bucket") == inc["bucket"]) & (pl.col("event_name") == "DeleteBucket")
    )
    ok = deleted.filter(pl.col("success")).row(0, named=True)
    assert ok["event_time"] == ts(inc["deleted_at"])
    assert ok["actor"] == "S3AdminRole/cleanup-job" == inc["actor"]
    assert ok["session_started_by"] == "bob.contractor" == inc["assumed_by"]
    assert ok["started_by_arn"] == inc["assumed_by_arn"]
    assert ok["attribution_method"] == "access_key"
    assert ok["attribution_chain"] == "bob.contractor → S3AdminRole/cleanup-job"
    assert ok["access_key_id"] == inc["session_access_key_id"]
    assert ok["source_ip"] == inc["source_ip"]
    assert ok["aws_region"] == inc["region"]
    # the evidence is the AssumeRole that issued the session key, made with bob's long-term key
    issuer = sample_events.filter(pl.col("event_id") == ok["attribution_evidence"][0]).row(
        0, named=True
    )
    assert issuer["event_name"] == "AssumeRole"
    assert issuer["access_key_id"] == inc["assumed_by_access_key_id"]
    failed = deleted.filter(~pl.col("success")).row(0, named=True)
    assert failed["event_time"] == ts(inc["failed_delete_at"])
    assert failed["error_code"] == inc["failed_error_code"]
    # the decoy deletion in the dev account is shown too, attributed to its own actor
    decoy = out.filter(pl.col("bucket") == inc["decoy"]["bucket"]).row(0, named=True)
    assert decoy["actor"] == inc["decoy"]["actor"]


def test_ssh_opened_to_the_world_and_revoked_61_seconds_later(sample_events, incidents):
    inc = incidents["ssh_open"]
    assert inc["group_id"] == "sg-0a1b2c3d4e5f60718"
    out = trailkit.open_ingress(sample_events)
    r = out.filter(pl.col("group_id") == inc["group_id"]).row(0, named=True)
    assert r["event_time"] == ts(inc["opened_at"])
    assert r["cidr_canonical"] == "0.0.0.0/0" and r["ports_exposed"] == [22]
    assert r["rule_id"] == inc["rule_id"]
    assert r["actor"] == inc["actor"]
    assert r["revoked_at"] == ts(inc["revoked_at"])
    assert r["revoked_by"] == "SecurityAutoRemediationRole/sg-remediator" == inc["revoked_by"]
    assert r["exposure_seconds"] == 61.0 == inc["open_seconds"]
    assert r["still_open"] is False
    # background rules: only the world-open RDP one matches the default ports and ranges
    expected = {
        b["group_id"]
        for b in inc["background"]
        if b["cidr"] == "0.0.0.0/0" and b["port"] in (22, 3389)
    }
    assert set(out["group_id"]) == {inc["group_id"], *expected}
    for b in inc["background"]:
        if b["group_id"] in expected:
            row = out.filter(pl.col("group_id") == b["group_id"]).row(0, named=True)
            assert row["still_open"] is (not b["revoked"])
            assert row["request_shape"] == ("flat" if b.get("flat_form") else "ip_permissions")


def test_big_instances_by_developer_role_sessions(sample_events, incidents):
    inc = incidents["huge_instances"]
    launches = trailkit.instance_launches(sample_events)
    dev = launches.filter(pl.col("actor").str.starts_with(inc["role"] + "/"))
    for planted in inc["launches"]:
        rows = dev.filter(pl.col("event_time") == ts(planted["time"]))
        assert rows["instance_type"].unique().to_list() == [planted["instance_type"]]
        assert rows["count"].sum() == planted["count"]
        assert rows["actor"].unique().to_list() == [planted["actor"]]
        assert rows["session_started_by"].unique().to_list() == [planted["user"]]
        assert sorted(rows["instance_id"].drop_nulls()) == sorted(planted["instance_ids"])
        assert rows["error_code"].unique().to_list() == [planted["error_code"]]
        source = "request" if planted["type_in_request"] else "response"
        assert rows["instance_type_source"].unique().to_list() == [source]
    for change in inc["state_changes"]:
        for iid in change["instance_ids"]:
            row = launches.filter(pl.col("instance_id") == iid).row(0, named=True)
            assert row["end_event_name"] == change["event"]
            assert row["ended_at"] == ts(change["time"])
    big = dev.filter(pl.col("instance_type").is_in(inc["large_types"]))
    assert (big["hourly_usd"] > 10).all()

    blocked = trailkit.policy_what_if(sample_events)
    by_dev = blocked.filter(pl.col("actor").str.starts_with(inc["role"] + "/"))
    assert set(inc["large_types"]) <= set(by_dev["instance_type"])
    assert not set(by_dev["instance_type"]) & {"t2.micro", "t3.small"}
