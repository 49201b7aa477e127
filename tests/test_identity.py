"""Identity normalisation: one record per userIdentity type (real AWS shapes), and edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from trailkit import normalize_records

EXAMPLES = Path(__file__).parent / "data" / "examples" / "identity"


def one(name: str) -> dict:
    rec = json.loads((EXAMPLES / name).read_text())
    rec.setdefault("eventTime", "2026-03-10T14:05:32Z")
    rec.setdefault("eventName", "Fragment")
    return normalize_records([rec], on_error="ignore").row(0, named=True)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("IAMUser.json", {"identity_type": "IAMUser", "actor": "Alice", "user_name": "Alice",
                          "account_id": "123456789012", "session_name": None, "role_arn": None}),
        ("Root_api_call.json", {"identity_type": "Root", "actor": "root", "principal_id": "123456789012"}),
        ("Root_console.json", {"identity_type": "Root", "actor": "root", "mfa_authenticated": False}),
        ("AssumedRole_role_chaining_sourceIdentity.json",
         {"identity_type": "AssumedRole", "actor": "JohnDoe/JohnRole1", "session_name": "JohnRole1",
          "role_arn": "arn:aws:iam::111111111111:role/JohnRole1", "role_name": "JohnDoe",
          "source_identity": "JohnDoe", "mfa_authenticated": False, "issuer_type": "Role"}),
        ("FederatedUser.json", {"identity_type": "FederatedUser", "actor": "stratus_red_team"}),
        ("AWSAccount.json", {"identity_type": "AWSAccount"}),
        ("AWSService.json", {"identity_type": "AWSService", "actor": "lambda.amazonaws.com",
                             "invoked_by": "lambda.amazonaws.com"}),
        ("IdentityCenterUser_fragment.json",
         {"identity_type": "IdentityCenterUser", "actor": "544894e8-80c1-707f-60e3-3ba6510dfac1",
          "on_behalf_of_user_id": "544894e8-80c1-707f-60e3-3ba6510dfac1",
          "credential_id": "EXAMPLEVHULjJdTUdPJfofVa1sufHDoj7aYcOYcxFVllWR_Whr1fEXAMPLE"}),
        ("SAMLUser.json", {"identity_type": "SAMLUser"}),
        ("WebIdentityUser.json", {"identity_type": "WebIdentityUser"}),
        ("Unknown_sso_CreateToken.json", {"identity_type": "Unknown", "actor": "<victim display name>"}),
        ("IAMUser_hidden_username_signin_failure.json",
         {"identity_type": "IAMUser", "actor": "HIDDEN_DUE_TO_SECURITY_REASONS", "success": False}),
    ],
)
def test_every_identity_type_from_real_examples(name, expected):
    row = one(name)
    for key, value in expected.items():
        assert row[key] == value, (name, key, row[key])
    assert row["actor"] is not None


def test_saml_and_web_identity_actor_is_user_name_else_principal():
    saml = json.loads((EXAMPLES / "SAMLUser.json").read_text())
    ui = saml["userIdentity"]
    assert one("SAMLUser.json")["actor"] == (ui.get("userName") or ui["principalId"])
    web = json.loads((EXAMPLES / "WebIdentityUser.json").read_text())["userIdentity"]
    assert one("WebIdentityUser.json")["actor"] == (web.get("userName") or web["principalId"])


def test_aws_account_actor_is_principal_else_account():
    ui = json.loads((EXAMPLES / "AWSAccount.json").read_text())["userIdentity"]
    assert one("AWSAccount.json")["actor"] == (ui.get("principalId") or ui["accountId"])


def rec(ui, **over):
    r = {"eventTime": "2026-03-10T14:05:32Z", "eventName": "GetObject", "eventID": "e1", "userIdentity": ui}
    r.update(over)
    return r


def row_of(r):
    return normalize_records([r], on_error="ignore").row(0, named=True)


def test_no_user_identity_at_all():
    row = row_of({"eventTime": "2026-03-10T14:05:32Z", "eventName": "X", "eventID": "e"})
    assert row["identity_type"] is None and row["actor"] is None and row["account_id"] is None


def test_empty_session_issuer_and_string_booleans_any_case():
    row = row_of(rec({"type": "Root", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333",
                      "sessionContext": {"sessionIssuer": {}, "attributes": {"mfaAuthenticated": "TRUE",
                                                                             "creationDate": "20131102T010628Z"}}}))
    assert row["role_arn"] is None and row["role_name"] is None
    assert row["mfa_authenticated"] is True
    assert row["session_created"].isoformat() == "2013-11-02T01:06:28+00:00"
    assert row["actor"] == "root"


def test_assumed_role_without_session_issuer_uses_the_arn():
    row = row_of(rec({"type": "AssumedRole", "principalId": "AROAX:i-0abc",
                      "arn": "arn:aws:sts::111122223333:assumed-role/WebServerRole/i-0abc"}))
    assert row["actor"] == "WebServerRole/i-0abc"
    assert row["session_name"] == "i-0abc"
    assert row["role_arn"] is None  # the issuer block is absent: null, not guessed
    assert row["account_id"] == "111122223333"  # from the ARN


def test_console_login_mfa_comes_from_additional_event_data_case_insensitive():
    base = {"type": "IAMUser", "userName": "bob", "accountId": "1"}
    yes = row_of(rec(base, eventName="ConsoleLogin", additionalEventData={"MFAUsed": "YES"}))
    no = row_of(rec(base, eventName="ConsoleLogin", additionalEventData={"MFAUsed": "No"}))
    assert yes["mfa_authenticated"] is True and no["mfa_authenticated"] is False


def test_empty_strings_are_null_and_error_fields_set_success():
    row = row_of(rec({"type": "IAMUser", "userName": "bob", "accessKeyId": ""}, errorCode="", errorMessage=""))
    assert row["access_key_id"] is None
    assert row["success"] is True and row["error_code"] is None
    row = row_of(rec({"type": "IAMUser", "userName": "bob"}, errorCode="AccessDenied"))
    assert row["success"] is False


def test_identity_center_user_prefers_a_user_name_when_present():
    row = row_of(rec({"type": "IdentityCenterUser", "userName": "carol@example.com",
                      "onBehalfOf": {"userId": "u-1", "identityStoreArn": "arn:aws:identitystore::1:identitystore/d-1"}}))
    assert row["actor"] == "carol@example.com" and row["on_behalf_of_user_id"] == "u-1"


def test_aws_service_role_and_unknown_types_fall_back_sensibly():
    assert row_of(rec({"type": "Role", "principalId": "AROA:x"}))["actor"] == "AROA:x"
    assert row_of(rec({"type": "Directory", "userName": "d@example.com"}))["actor"] == "d@example.com"
    assert row_of(rec({"type": "SomethingNew"}))["actor"] is None
    svc = row_of(rec({"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}))
    assert svc["actor"] == "ec2.amazonaws.com"


def test_assumed_root_sessions_are_marked():
    row = row_of(rec({"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/R/s",
                      "sessionContext": {"assumedRoot": "true"}}))
    assert row["assumed_root"] is True


def test_identity_columns_are_vectorised_over_many_rows():
    recs = [rec({"type": "IAMUser", "userName": f"u{i}"}, eventID=f"e{i}") for i in range(1000)]
    df = normalize_records(recs)
    assert df.height == 1000
    assert df["actor"].n_unique() == 1000
    assert df.schema["event_time"] == pl.Datetime("us", "UTC")
