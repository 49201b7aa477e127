"""trailkit.attribution: who is behind a session.

Real records: tests/data/scenarios/ (see SOURCE.md there). Records built in this file are
synthetic and say so.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import polars as pl
import pytest

import trailkit
from trailkit.attribution import ATTRIBUTION_COLUMNS, attribute, credential_issuances
from trailkit.errors import InputError

DATA = Path(__file__).parent / "data" / "scenarios"


def records(*names: str) -> list[dict]:
    out: list[dict] = []
    for name in names:
        value = json.loads((DATA / name).read_text())
        out.extend(value if isinstance(value, list) else [value])
    return out


def normalize(recs: list[dict]) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trailkit.normalize_records(recs)


# -- synthetic builders (our own records, shaped like the IAM user guide's AssumeRole example) --


def assume_role(
    t, eid, *, caller_arn, caller_key, new_key, role, session, ok=True, account="111122223333"
):
    if ":user/" in caller_arn:
        ui = {
            "type": "IAMUser",
            "userName": caller_arn.rsplit("/", 1)[1],
            "arn": caller_arn,
            "accessKeyId": caller_key,
            "accountId": account,
        }
    else:
        ui = {
            "type": "AssumedRole",
            "arn": caller_arn,
            "accessKeyId": caller_key,
            "accountId": account,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "userName": caller_arn.split("/")[1],
                    "arn": f"arn:aws:iam::{account}:role/{caller_arn.split('/')[1]}",
                }
            },
        }
    rec = {
        "eventTime": t,
        "eventID": eid,
        "eventName": "AssumeRole",
        "eventSource": "sts.amazonaws.com",
        "awsRegion": "us-east-1",
        "userIdentity": ui,
        "requestParameters": {
            "roleArn": f"arn:aws:iam::{account}:role/{role}",
            "roleSessionName": session,
        },
    }
    if ok:
        resp = {"assumedRoleUser": {"arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}"}}
        if new_key:
            resp["credentials"] = {
                "accessKeyId": new_key,
                "expiration": "Mar 10, 2026, 10:00:00 AM",
            }
        rec["responseElements"] = resp
    else:
        rec["errorCode"] = "AccessDenied"
    return rec


def session_call(
    t, eid, *, key, role, session, name="DeleteBucket", account="111122223333", **extra_ui
):
    ui = {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "userName": role,
                "arn": f"arn:aws:iam::{account}:role/{role}",
            }
        },
    }
    if key:
        ui["accessKeyId"] = key
    ui.update(extra_ui)
    return {"eventTime": t, "eventID": eid, "eventName": name, "userIdentity": ui}


def row(df: pl.DataFrame, event_id: str) -> dict:
    return df.filter(pl.col("event_id") == event_id).row(0, named=True)


# -- real records -----------------------------------------------------------------------------


def test_real_session_traced_by_access_key_to_the_iam_user():
    # stratus ec2-launch-unusual-instances: two AssumeRole calls for the same role and session name
    # (keys ASIAYY… and ASIA9F…); RunInstances used ASIA9F… -> only 04c882a5 is the evidence.
    out = attribute(
        normalize(records("stratus-red-team/aws.execution.ec2-launch-unusual-instances.json"))
    )
    run = out.filter(pl.col("event_name") == "RunInstances").row(0, named=True)
    assert run["session_started_by"] == "christophe"
    assert run["started_by_arn"] == "arn:aws:iam::900138736586:user/christophe"
    assert run["started_by_type"] == "IAMUser"
    assert run["attribution_method"] == "access_key"
    assert run["attribution_evidence"] == ["04c882a5-7652-40d1-b44c-83535fc19268"]
    assert run["attribution_chain"] == (
        "christophe → stratus-red-team-ec2lui-role-idtzskbvtd/aws-go-sdk-1722511821294449000"
    )
    assert run["attribution_note"] is None
    # the AssumeRole callers themselves are direct
    assert set(out.filter(pl.col("event_name") == "AssumeRole")["attribution_method"]) == {"direct"}


def test_real_many_session_calls_one_issuer_failed_assume_role_ignored():
    # stratus ec2-get-password-data: 2 AccessDenied AssumeRole, then 2 successful ones, then 30 calls
    events = normalize(records("stratus-red-team/aws.credential-access.ec2-get-password-data.json"))
    iss = credential_issuances(events)
    assert iss.height == 2  # failed AssumeRole calls issue nothing
    out = attribute(events).filter(pl.col("event_name") == "GetPasswordData")
    assert out.height == 30
    assert out["session_started_by"].unique().to_list() == ["christophe"]
    assert out["attribution_method"].unique().to_list() == ["access_key"]
    issuer = iss.filter(pl.col("iss_key") == "ASIANQQHHS551LWULIWD")["iss_event_id"].item()
    assert out["attribution_evidence"].list.first().unique().to_list() == [issuer]


def test_real_federated_user_traced_to_get_federation_token():
    events = normalize(records("stratus-red-team/aws.persistence.sts-federation-token.json"))
    out = attribute(events)
    fed = row(out, "91529247-c4c4-4793-afc8-d70bbcfe9d19")
    assert fed["session_started_by"] == "stratus-red-team-user-federation-user"
    assert fed["attribution_method"] == "access_key"
    assert fed["attribution_evidence"] == ["6e882b9d-2af8-4c67-b91f-aeac6a0e5e70"]
    assert fed["attribution_chain"] == "stratus-red-team-user-federation-user → stratus_red_team"
    # without the GetFederationToken event the session issuer (an IAM user) still names the person
    only = attribute(events.filter(pl.col("event_name") == "GetCallerIdentity"))
    assert only["session_started_by"].item() == "stratus-red-team-user-federation-user"
    assert only["attribution_method"].item() == "session_issuer"


def test_real_source_identity_names_the_person_when_no_issuer_is_loaded():
    out = attribute(
        normalize(records("iam-user-guide/AssumedRole_role_chaining_sourceIdentity.json"))
    )
    r = out.row(0, named=True)
    assert r["session_started_by"] == "JohnDoe"
    assert r["attribution_method"] == "source_identity"
    assert "no AssumeRole event for AKIAI44QH8DHBEXAMPLE" in r["attribution_note"]


def test_real_saml_and_web_identity_subjects_are_the_origin():
    # the STS events are real doc examples; the later session calls are synthetic and reuse the
    # temporary keys from their responses
    events = normalize(
        records("iam-user-guide/SAMLUser.json", "iam-user-guide/WebIdentityUser.json")
        + [
            session_call(
                "2019-11-01T19:20:00Z",
                "saml-call",
                key="AKIAIOSFODNN7EXAMPLE",
                role="SAMLTestRoleShibboleth",
                session="MyAssignedRoleSessionName",
                account="444455556666",
            ),
            session_call(
                "2016-03-23T01:45:00Z",
                "web-call",
                key="ASIACQRSTUVWRAOEXAMPLE",
                role="FederatedWebIdentityRole",
                session="MyAssignedRoleSessionName",
                account="444455556666",
            ),
        ]
    )
    out = attribute(events)
    saml = row(out, "saml-call")
    assert saml["session_started_by"] == "SamlExample"
    assert saml["attribution_method"] == "saml"
    assert saml["started_by_type"] == "SAMLUser"
    assert "https://server.example.com/idp/shibboleth" in saml["attribution_note"]
    web = row(out, "web-call")
    assert web["session_started_by"] == "<id of user>"
    assert web["attribution_method"] == "web_identity"
    assert "accounts.google.com" in web["attribution_note"]


def test_real_service_linked_role_is_an_aws_service():
    out = attribute(normalize(records("panther-analysis/ec2_RunInstances_autoscaling_fleet.json")))
    r = out.row(0, named=True)
    assert r["attribution_method"] == "aws_service"
    assert r["session_started_by"] == "autoscaling.amazonaws.com"


# -- synthetic ----------------------------------------------------------------------------------

BOB = "arn:aws:iam::111122223333:user/bob.contractor"


def chain_events() -> pl.DataFrame:
    """Synthetic: bob → RoleA/s1 → RoleB/s2 → calls; and a chain whose first hop is missing."""
    return normalize(
        [
            assume_role(
                "2026-03-10T09:00:00Z",
                "a1",
                caller_arn=BOB,
                caller_key="AKIABOB",
                new_key="ASIAONE",
                role="RoleA",
                session="s1",
            ),
            assume_role(
                "2026-03-10T09:01:00Z",
                "a2",
                caller_arn="arn:aws:sts::111122223333:assumed-role/RoleA/s1",
                caller_key="ASIAONE",
                new_key="ASIATWO",
                role="RoleB",
                session="s2",
            ),
            session_call("2026-03-10T09:02:00Z", "d1", key="ASIATWO", role="RoleB", session="s2"),
            session_call("2026-03-10T09:03:00Z", "d2", key=None, role="RoleB", session="s2"),
            session_call(
                "2026-03-10T11:03:00Z", "d3", key=None, role="RoleB", session="s2"
            ),  # after expiry
            session_call("2026-03-10T09:04:00Z", "d4", key="ASIAGONE", role="RoleC", session="x"),
            assume_role(
                "2026-03-10T09:05:00Z",
                "a3",
                caller_arn="arn:aws:sts::111122223333:assumed-role/RoleC/x",
                caller_key="ASIAGONE",
                new_key="ASIATHREE",
                role="RoleD",
                session="y",
            ),
            session_call("2026-03-10T09:06:00Z", "d5", key="ASIATHREE", role="RoleD", session="y"),
        ]
    )


def test_role_chain_followed_to_the_first_non_session_identity():
    out = attribute(chain_events())
    d1 = row(out, "d1")
    assert d1["session_started_by"] == "bob.contractor"
    assert d1["started_by_arn"] == BOB
    assert d1["attribution_chain"] == "bob.contractor → RoleA/s1 → RoleB/s2"
    assert d1["attribution_evidence"] == ["a1", "a2"]
    assert d1["attribution_method"] == "access_key"


def test_session_arn_within_lifetime_when_the_key_is_absent():
    out = attribute(chain_events())
    d2 = row(out, "d2")
    assert d2["session_started_by"] == "bob.contractor"
    assert d2["attribution_method"] == "session_name+role"
    assert "session names can be reused" in d2["attribution_note"]
    d3 = row(out, "d3")  # credentials expired at 10:00 -> not linked
    assert d3["session_started_by"] is None
    assert d3["attribution_method"] == "none"


def test_unresolved_sessions_say_what_to_load():
    out = attribute(chain_events())
    d4 = row(out, "d4")
    assert d4["session_started_by"] is None
    assert d4["attribution_method"] == "none"
    assert d4["attribution_chain"] == "? → RoleC/x"
    assert d4["attribution_note"].startswith("no AssumeRole event for ASIAGONE (RoleC/x")
    assert "us-east-1" in d4["attribution_note"]
    d5 = row(out, "d5")  # the chain is known from RoleC/x on, not before
    assert d5["attribution_chain"] == "? → RoleC/x → RoleD/y"
    assert d5["attribution_evidence"] == ["a3"]
    assert "the chain stops at session RoleC/x" in d5["attribution_note"]


def test_a_key_mismatch_never_falls_back_to_the_session_arn():
    # synthetic: same role and session name issued twice; the call's key matches neither
    events = normalize(
        [
            assume_role(
                "2026-03-10T09:00:00Z",
                "a1",
                caller_arn=BOB,
                caller_key="AKIABOB",
                new_key="ASIAONE",
                role="RoleA",
                session="s1",
            ),
            session_call("2026-03-10T09:02:00Z", "c1", key="ASIAOTHER", role="RoleA", session="s1"),
        ]
    )
    assert row(attribute(events), "c1")["attribution_method"] == "none"


def test_identity_center_role_and_user():
    events = normalize(
        [  # synthetic
            session_call(
                "2026-03-10T09:00:00Z",
                "sso",
                key="ASIASSO",
                role="AWSReservedSSO_Admin_0123456789abcdef",
                session="alice@example.com",
                name="ListBuckets",
            ),
            {
                "eventTime": "2026-03-10T09:01:00Z",
                "eventID": "idc",
                "eventName": "ListBuckets",
                "userIdentity": {
                    "type": "IdentityCenterUser",
                    "accountId": "111122223333",
                    "onBehalfOf": {
                        "userId": "544894e8-80c1-707f-60e3-3ba6510dfac1",
                        "identityStoreArn": "arn:aws:identitystore::111122223333:identitystore/d-1",
                    },
                },
            },
        ]
    )
    out = attribute(events)
    assert row(out, "sso")["session_started_by"] == "alice@example.com"
    assert row(out, "sso")["attribution_method"] == "identity_center"
    assert row(out, "idc")["session_started_by"] == "544894e8-80c1-707f-60e3-3ba6510dfac1"
    assert row(out, "idc")["attribution_method"] == "identity_center"


def test_context_lets_a_slice_use_sts_events_from_the_full_log():
    events = chain_events()
    part = events.filter(pl.col("event_id") == "d1")
    assert attribute(part)["attribution_method"].item() == "none"
    assert attribute(part, context=events)["session_started_by"].item() == "bob.contractor"


def test_rows_order_and_columns_are_kept():
    events = chain_events()
    out = attribute(events)
    assert out.height == events.height
    assert out["event_id"].to_list() == events["event_id"].to_list()
    assert out.columns == [*events.columns, *ATTRIBUTION_COLUMNS]
    assert dict(out.select(list(ATTRIBUTION_COLUMNS)).schema) == ATTRIBUTION_COLUMNS
    # running it twice replaces the columns instead of duplicating them
    assert attribute(out).columns == out.columns


def test_empty_frame_and_bad_input():
    empty = attribute(trailkit.normalize_records([]))
    assert empty.height == 0
    assert set(ATTRIBUTION_COLUMNS) <= set(empty.columns)
    with pytest.raises(InputError, match="read_events"):
        attribute(pl.DataFrame({"event_name": ["x"]}))
    with pytest.raises(InputError, match="DataFrame"):
        attribute([{"eventName": "x"}])
    with pytest.raises(InputError, match="collect"):
        attribute(trailkit.normalize_records([]).lazy())


def test_real_cross_account_assume_role_points_to_the_other_account():
    # the AssumeRole is the IAM guide's real cross-account example; the later call is synthetic
    events = normalize(
        records("iam-user-guide/AWSAccount.json")
        + [
            session_call(
                "2014-07-18T15:10:00Z",
                "x",
                key="AKIAQRSTUVWXYZEXAMPLE",
                role="EC2-dev",
                session="JohnDoe-EC2-dev",
                name="ListBuckets",
            )
        ]
    )
    r = row(attribute(events), "x")
    assert r["session_started_by"] == "account 777788889999 / AIDAQRSTUVWXYZEXAMPLE"
    assert r["started_by_type"] == "AWSAccount" and r["started_by_arn"] is None
    assert "sharedEventID bEXAMPLE-efea-4a70-b951-19a88EXAMPLE" in r["attribution_note"]
    assert "source identity JohnDoe" in r["attribution_note"]
