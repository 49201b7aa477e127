"""Tests for trailkit.filters: CloudWatch Logs JSON filter patterns evaluated on polars frames."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import trailkit
from trailkit.filters import FilterPatternError, cis_filters, cis_summary, filter_pattern
from trailkit.schema import conform

CIS_EVENTS = Path(__file__).parent / "data" / "cis-events" / "events.jsonl"


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def cis_events() -> pl.DataFrame:
    """Real (and a few marked synthetic) records; eventID := fixture id (see SOURCE.md)."""
    recs = []
    for line in CIS_EVENTS.read_text().splitlines():
        item = json.loads(line)
        recs.append({**item["record"], "eventID": item["id"]})
    return trailkit.normalize_records(recs)


# The JSON example of the CloudWatch Logs user guide ("Filter and pattern syntax"), as an event
# frame: eventType and sourceIPAddress are CloudTrail fields with their own columns, the rest
# are unknown top-level fields and live in ``extra_fields``.
DOC_EXAMPLE = {
    "arrayKey": ["value", "another value"],
    "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
    "SomeObject": None,
    "ThisFlag": True,
}
DOC_COMPOUND = {
    "user": {"id": 1, "email": "John.Stiles@example.com"},
    "users": [
        {"id": 2, "email": "John.Doe@example.com"},
        {"id": 3, "email": "Jane.Doe@example.com"},
    ],
    "actions": ["GET", "PUT", "DELETE"],
    "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
}


@pytest.fixture(scope="module")
def doc_frame() -> pl.DataFrame:
    return conform(
        pl.DataFrame(
            {
                "event_type": ["UpdateTrail", None],
                "source_ip": ["111.111.111.111", None],
                "extra_fields": [json.dumps(DOC_EXAMPLE), json.dumps(DOC_COMPOUND)],
            }
        )
    )


def hits(pattern: str, frame: pl.DataFrame) -> list[bool]:
    return filter_pattern(pattern).matches(frame).to_list()


# ----------------------------------------------------------------------------- AWS's own examples


@pytest.mark.parametrize(
    "pattern",
    [
        '{ $.eventType = "UpdateTrail" }',
        "{ $.sourceIPAddress != 123.123.* }",
        '{ $.arrayKey[0] = "value" }',
        "{ $.objectList[1].id = 2 }",
        "{ $.SomeObject IS NULL }",
        "{ $.SomeOtherObject NOT EXISTS }",
        "{ $.ThisFlag IS TRUE }",
    ],
)
def test_cloudwatch_doc_examples_match(doc_frame, pattern):
    assert hits(pattern, doc_frame)[0] is True


@pytest.mark.parametrize(
    "pattern,expected",
    [
        ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', True),
        ('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', False),
        (
            '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }',
            True,
        ),
        (
            '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }',
            False,
        ),
        ("{ $.coordinates[0][1] = 1 }", True),
        ("{ $.coordinates[2][2] >= 9 }", True),
    ],
)
def test_cloudwatch_doc_compound_examples(doc_frame, pattern, expected):
    assert hits(pattern, doc_frame)[1] is expected


def test_selector_on_object_or_array_never_matches(doc_frame):
    """'If it points to an array or object, the metric filter won't match' - for = and != alike."""
    for p in [
        "{ $.users = 1 }",
        "{ $.users != 1 }",
        '{ $.user != "x" }',
        "{ $.user = * }",
        "{ $.arrayKey != x }",
    ]:
        assert hits(p, doc_frame) == [False, False], p


def test_not_equal_on_missing_field_is_false(doc_frame):
    """CloudWatch: != is false when the field is absent (DataBiosphere/azul#5884)."""
    assert hits('{ $.nothing != "x" }', doc_frame) == [False, False]
    assert hits("{ $.SomeObject != x }", doc_frame) == [False, False]  # null is not a value either
    assert hits("{ $.user.id != 5 }", doc_frame) == [False, True]


def test_null_true_false_exists(doc_frame):
    assert hits("{ $.SomeObject IS NULL }", doc_frame) == [True, False]
    assert hits("{ $.SomeObject NOT EXISTS }", doc_frame) == [False, True]
    assert hits("{ $.ThisFlag IS FALSE }", doc_frame) == [False, False]
    assert hits("{ $.ThisFlag NOT EXISTS }", doc_frame) == [False, True]
    assert hits("{ $.arrayKey IS NULL }", doc_frame) == [False, False]
    assert hits("{ $.users[0].id NOT EXISTS }", doc_frame) == [True, False]
    assert hits("{ $.arrayKey[5] NOT EXISTS }", doc_frame) == [True, True]


# ----------------------------------------------------------------------------- operators on CloudTrail events


def record(**over) -> dict:
    base = {
        "eventVersion": "1.08",
        "eventTime": "2026-03-10T14:05:32Z",
        "eventID": "e1",
        "eventName": "ConsoleLogin",
        "eventSource": "signin.amazonaws.com",
        "eventType": "AwsConsoleSignIn",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9",
        "readOnly": False,
        "userIdentity": {
            "type": "Root",
            "accountId": "111122223333",
            "arn": "arn:aws:iam::111122223333:root",
            "sessionContext": {
                "attributes": {"mfaAuthenticated": "false", "creationDate": "2026-03-10T14:00:00Z"}
            },
        },
        "requestParameters": {
            "bucketName": "b-1",
            "policy": '{"Version": "2012-10-17"}',
            "count": 12,
            "items": [{"name": "x", "size": 3}, "plain", 7],
            "flag": True,
            "nothing": None,
        },
        "responseElements": {"ConsoleLogin": "Success"},
        "additionalEventData": {"MFAUsed": "No"},
        "resources": [{"ARN": "arn:aws:s3:::b-1", "type": "AWS::S3::Bucket"}],
        "recipientAccountId": "111122223333",
    }
    base.update(over)
    return base


@pytest.fixture(scope="module")
def events() -> pl.DataFrame:
    return trailkit.normalize_records(
        [
            record(),
            record(
                eventID="e2",
                eventName="GetObject",
                eventSource="s3.amazonaws.com",
                eventType="AwsApiCall",
                errorCode="AccessDenied",
                errorMessage="Access Denied",
                sourceIPAddress="123.123.4.5",
                readOnly=True,
                userIdentity={
                    "type": "IAMUser",
                    "userName": "alice",
                    "invokedBy": "cloudformation.amazonaws.com",
                },
                requestParameters=None,
                responseElements=None,
                additionalEventData=None,
                resources=None,
            ),
        ]
    ).sort("event_id")


@pytest.mark.parametrize(
    "pattern,expected",
    [
        ('{ $.eventName = "ConsoleLogin" }', [True, False]),
        ("{ $.eventName = ConsoleLogin }", [True, False]),
        ('{ $.eventName = "consolelogin" }', [False, False]),  # case-sensitive
        ('{ $.eventName = "Console*" }', [True, False]),
        ('{ $.eventName = "*Login" }', [True, False]),
        ('{ $.eventName = "*sole*" }', [True, False]),
        ('{ $.eventName = "Con*Login" }', [False, False]),  # a star in the middle is literal
        ("{ $.eventName != GetObject }", [True, False]),
        ("{ $.errorCode = * }", [False, True]),
        ('{ $.errorCode = "AccessDenied*" }', [False, True]),
        ("{ $.errorCode NOT EXISTS }", [True, False]),
        ("{ $.sourceIPAddress != 123.123.* }", [True, False]),
        ("{ $.userIdentity.type = Root }", [True, False]),
        ("{ $.userIdentity.invokedBy NOT EXISTS }", [True, False]),
        ('{ $.userIdentity.sessionContext.attributes.mfaAuthenticated = "false" }', [True, False]),
        ('{ $.userIdentity.sessionContext.attributes.mfaAuthenticated != "true" }', [True, False]),
        ("{ $.userIdentity.sessionContext.attributes IS NULL }", [False, False]),
        ('{ $.requestParameters.bucketName = "b-1" }', [True, False]),
        (
            '{ $.requestParameters.policy = "*2012-10-17*" }',
            [True, False],
        ),  # a string holding JSON is a value
        ("{ $.requestParameters.count > 10 }", [True, False]),
        ("{ $.requestParameters.count <= 12 }", [True, False]),
        ("{ $.requestParameters.count < 1e1 }", [False, False]),
        ("{ $.requestParameters.count = 12 }", [True, False]),
        ("{ $.requestParameters.count != 12 }", [False, False]),
        ("{ $.requestParameters.count = 12.0 }", [True, False]),
        ("{ $.requestParameters.flag IS TRUE }", [True, False]),
        ('{ $.requestParameters.flag = "true" }', [True, False]),
        ("{ $.requestParameters.nothing IS NULL }", [True, False]),
        ("{ $.requestParameters.nothing NOT EXISTS }", [False, True]),
        ("{ $.requestParameters.items[0].name = x }", [True, False]),
        ("{ $.requestParameters.items[1] = plain }", [True, False]),
        ("{ $.requestParameters.items[2] >= 7 }", [True, False]),
        ("{ $.requestParameters.items[0] = * }", [False, False]),  # an object, not a value
        ("{ $.requestParameters.items[1].name NOT EXISTS }", [True, True]),
        ('{ $.resources[0].ARN = "arn:aws:s3:::b-1" }', [True, False]),
        ("{ $.resources[0].type = AWS::S3::Bucket }", [True, False]),
        ("{ $.responseElements.ConsoleLogin = Success }", [True, False]),
        ('{ $.additionalEventData.MFAUsed != "Yes" }', [True, False]),  # absent on e2: no match
        ("{ $.readOnly IS TRUE }", [False, True]),
        ("{ $.readOnly IS FALSE }", [True, False]),
        ('{ $.eventTime = "2026-03-10T14:05:32Z" }', [True, True]),
        ("{ $.recipientAccountId = 111122223333 }", [True, True]),  # number vs string: same text
        ("{ $.eventName = %^Con% }", [True, False]),
        ("{ $.eventName != %Object$% }", [True, False]),
        ("{ $.eventName.sub NOT EXISTS }", [True, True]),
        ("{ $.eventName.sub = x }", [False, False]),
        (
            "{ $.userIdentity.type = Root || $.eventName = GetObject && $.readOnly IS TRUE }",
            [True, True],
        ),
        (
            "{ ($.userIdentity.type = Root || $.eventName = GetObject) && $.readOnly IS TRUE }",
            [False, True],
        ),
        ("", [True, True]),
    ],
)
def test_operators(events, pattern, expected):
    assert hits(pattern, events) == expected


def test_one_vectorised_expression(events):
    p = filter_pattern('{ $.userIdentity.type = "Root" && $.eventName = ConsoleLogin }')
    assert isinstance(p.expr, pl.Expr)
    assert events.filter(p.expr)["event_id"].to_list() == ["e1"]
    assert p.filter(events.lazy()).collect().height == 1
    assert p.count(events) == 1 and p.count(events.lazy()) == 1
    assert p.columns == ["event_name", "user_identity"]


def test_filter_on_read_events(tmp_path):
    import gzip

    path = tmp_path / "111122223333_CloudTrail_us-east-1_20260310T1410Z_abcdefABCDEF1234.json.gz"
    path.write_bytes(
        gzip.compress(
            json.dumps(
                {"Records": [record(), record(eventID="e3", eventName="ListBuckets")]}
            ).encode()
        )
    )
    df = trailkit.read_events(tmp_path)
    assert filter_pattern("{ $.eventName = ConsoleLogin }").count(df) == 1


def test_missing_column_message(events):
    with pytest.raises(trailkit.InputError, match="no column user_identity"):
        filter_pattern("{ $.userIdentity.type = Root }").matches(events.drop("user_identity"))


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "pattern,position,words",
    [
        ("{ $.eventName = }", 16, "expected a value after '='"),
        ('{ $.eventName = "x" ', 20, "closing '}'"),
        ('$.eventName = "x"', 0, "wrap the pattern in { }"),
        ('{ $.eventName == "x" }', 15, "expected a value"),
        ('{ $.eventName = "x }', 16, "never closed"),
        ("{ ($.a = 1 }", 11, "expected ')' to close the '(' at position 2"),
        ("{ $.a = 1 & $.b = 2 }", 10, "'&' alone"),
        ("{ $.a = 1 && }", 13, "expected a selector"),
        ("{ $.a > abc }", 8, "not a number"),
        ("{ $.a IS NOT NULL }", 9, "'IS NOT' is not supported"),
        ("{ $.a EXISTS }", 6, "'EXISTS' is not supported"),
        ("{ $.a NOT THERE }", 10, "expected EXISTS"),
        ("{ $. = 1 }", 4, "property name"),
        ("{ $[0] = 1 }", 3, "must follow a property"),
        ("{ $.a[x] = 1 }", 5, "array index"),
        ("{ $.a = %(ab)% }", 9, "( ) groups"),
        ("{ $.a = %ab% < 3 }", 13, "closing '}'"),
        ("{ $.a 1 }", 6, "expected an operator"),
        ("{ }", 2, "empty"),
        ("{ $.a = 1 } x", 12, "after the closing"),
        ("{ eventName = x }", 2, "expected a selector"),
    ],
)
def test_errors_point_at_the_position(pattern, position, words):
    with pytest.raises(FilterPatternError) as info:
        filter_pattern(pattern)
    err = info.value
    assert err.position == position, str(err)
    assert words in str(err)
    assert isinstance(err, trailkit.InputError)
    lines = str(err).splitlines()
    assert lines[1] == "  " + pattern and lines[2].index("^") == position + 2


def test_explain_shows_precedence():
    p = filter_pattern(
        '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") '
        '&& ($.sourceIPAddress!="delivery.logs.amazonaws.com") && ($.eventName!="HeadBucket") }'
    )
    assert p.explain() == (
        '($.errorCode = "*UnauthorizedOperation" || ($.errorCode = "AccessDenied*" && '
        '$.sourceIPAddress != "delivery.logs.amazonaws.com" && $.eventName != "HeadBucket"))'
    )


def test_problems_before_deploying():
    long = "{ " + " || ".join(f"$.eventName = E{i:04d}" for i in range(80)) + " }"
    assert "1024" in filter_pattern(long).problems()[0]
    assert (
        "regular expressions"
        in filter_pattern("{ $.a = %a% || $.b = %b% || $.c = %c% }").problems()[0]
    )
    assert filter_pattern("").problems() == ["the pattern is empty: it would match every event"]


# ----------------------------------------------------------------------------- CIS filters

EXPECTED_CIS = {
    "root_usage": {
        "ctug_root_console_login_failure",
        "ctug_root_console_login_mfa_YES",
        "ctug_root_console_login_no_mfa",
        "ctug_root_enable_mfa_device",
    },
    "unauthorized_api_calls": {
        "stratus_leave_organization_denied",
        "stratus_run_instances_unauthorized",
        "synthetic_ec2_access_denied_prefix",
    },
    "console_signin_without_mfa": {
        "ctug_iamuser_console_login_no_mfa",
        "stratus_console_login_without_mfa",
    },
    "iam_policy_changes": {"stratus_attach_role_policy", "stratus_attach_user_policy"},
    "cloudtrail_config_changes": {
        "ctug_start_logging",
        "ctug_update_trail_not_found",
        "stratus_delete_trail",
        "stratus_stop_logging",
    },
    "console_auth_failures": {
        "ctug_iamuser_console_login_failure",
        "ctug_root_console_login_failure",
    },
    "cmk_disable_or_deletion": {"synthetic_kms_disable_key", "synthetic_kms_schedule_key_deletion"},
    "s3_bucket_policy_changes": {
        "awsdoc_delete_bucket_policy",
        "awsdoc_put_bucket_acl",
        "synthetic_s3_put_bucket_policy",
    },
    "aws_config_changes": {"synthetic_config_stop_recorder"},
    "security_group_changes": {"revoke_sg_ingress_console", "stratus_open_port_22"},
    "nacl_changes": {"synthetic_ec2_create_network_acl_entry"},
    "network_gateway_changes": {"synthetic_ec2_create_internet_gateway"},
    "route_table_changes": {"synthetic_ec2_create_route"},
    "vpc_changes": {"synthetic_ec2_create_vpc"},
    "organizations_changes": {
        "stratus_leave_organization_denied",
        "synthetic_organizations_create_account",
    },
}

# the events that must NOT match, with why (each is a near miss for its filter)
NEAR_MISSES = {
    "root_usage": [
        "synthetic_root_invoked_by_service",
        "synthetic_root_service_event",
        "ctug_kms_rotate_key_service_event",
    ],
    "unauthorized_api_calls": ["ctug_update_trail_not_found"],
    "console_signin_without_mfa": [
        "ctug_iamuser_console_login_mfa",
        "ctug_root_console_login_no_mfa",
        "iamug_console_login_no_such_user",
        "ctug_iamuser_console_login_failure",
    ],
    "iam_policy_changes": ["stratus_update_assume_role_policy"],
    "console_auth_failures": [
        "iamug_console_login_no_such_user",
        "ctug_iamuser_console_login_no_mfa",
    ],
    "cmk_disable_or_deletion": ["synthetic_kms_describe_key", "ctug_kms_rotate_key_service_event"],
    "s3_bucket_policy_changes": ["put_bucket_public_access_block"],
    "aws_config_changes": ["synthetic_config_describe_recorders"],
    "vpc_changes": ["stratus_delete_flow_logs"],
    "security_group_changes": ["stratus_describe_instances"],
}


def test_cis_names_and_metadata():
    f = cis_filters()
    assert list(f) == list(EXPECTED_CIS)
    for name, p in f.items():
        assert p.name == name and p.title and p.reference and p.problems() == []
    assert f["root_usage"].reference.endswith("Security Hub CloudWatch.1")


@pytest.mark.parametrize("name", list(EXPECTED_CIS))
def test_cis_filter_matches_exactly(cis_events, name):
    got = set(cis_events.filter(cis_filters()[name].expr)["event_id"])
    assert got == EXPECTED_CIS[name]
    assert not set(NEAR_MISSES.get(name, [])) & got


def test_cis_summary(cis_events):
    s = cis_summary(cis_events)
    assert dict(zip(s["name"], s["matches"], strict=True)) == {
        k: len(v) for k, v in EXPECTED_CIS.items()
    }


def test_cis_name_accepted_as_pattern():
    assert filter_pattern("root_usage") is cis_filters()["root_usage"]


def test_mfa_used_is_case_sensitive(cis_events):
    """The doc example with MFAUsed "YES" (upper case) is a Root sign-in; an IAM user with "YES"
    would still count as 'without MFA' because CloudWatch compares case-sensitively."""
    p = filter_pattern('{ $.additionalEventData.MFAUsed != "Yes" && $.eventName = ConsoleLogin }')
    assert "ctug_root_console_login_mfa_YES" in set(p.filter(cis_events)["event_id"])


# ----------------------------------------------------------------------------- the sample data


def test_patterns_agree_with_polars_on_the_samples(sample_events):
    ev = sample_events
    root_login = filter_pattern(
        '{ ($.eventName = "ConsoleLogin") && ($.userIdentity.type = "Root") }'
    )
    by_hand = ev.filter(
        (pl.col("event_name") == "ConsoleLogin") & (pl.col("identity_type") == "Root")
    )
    assert by_hand.height >= 1
    assert sorted(root_login.filter(ev)["event_id"]) == sorted(by_hand["event_id"])
    usage = cis_filters()["root_usage"].filter(ev)
    assert set(usage["identity_type"]) == {"Root"} and usage.height >= by_hand.height
    sg = cis_filters()["security_group_changes"].filter(ev)
    assert sg.height >= 1 and set(sg["event_source"]) == {"ec2.amazonaws.com"}
    denied = cis_filters()["unauthorized_api_calls"].filter(ev)
    assert denied.height >= 1
    assert all(
        c.endswith("UnauthorizedOperation") or c.startswith("AccessDenied")
        for c in denied["error_code"]
    )
    # the inline expression and the two-stage evaluation agree on every CIS filter
    for f in cis_filters().values():
        assert ev.select(f.expr.sum()).item() == f.count(ev)
