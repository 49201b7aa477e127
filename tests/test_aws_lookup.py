"""trailkit.aws.lookup_events: paging, pacing, throttling, regions, errors.

moto does not implement LookupEvents (its server answers 500 "not implemented"), so these
tests use real boto3 CloudTrail clients, pointed at the local moto endpoint, with botocore's
``Stubber`` supplying the LookupEvents responses; everything in trailkit runs for real.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import ANY, Stubber

import trailkit
from trailkit.aws import lookup
from trailkit.aws.session import AwsAccessDenied, AwsError

NOW = datetime.now(UTC).replace(microsecond=0)
START, END = NOW - timedelta(days=2), NOW


def _event(i: int, region: str, name: str = "ConsoleLogin") -> dict:
    when = START + timedelta(minutes=i)
    record = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "userName": f"user{i % 3}",
            "accountId": "123456789012",
            "arn": f"arn:aws:iam::123456789012:user/user{i % 3}",
        },
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "signin.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.9",
        "eventID": f"{region}-{i:05d}",
        "eventType": "AwsConsoleSignIn",
        "recipientAccountId": "123456789012",
    }
    return {
        "EventId": record["eventID"],
        "EventName": name,
        "ReadOnly": "false",
        "EventTime": when,
        "EventSource": record["eventSource"],
        "Username": f"user{i % 3}",
        "Resources": [],
        "CloudTrailEvent": json.dumps(record),
    }


class StubSession(boto3.Session):
    """A real boto3 Session whose CloudTrail clients are pre-made (and stubbed) per region."""

    def __init__(self, clients: dict[str, object]):
        super().__init__(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        self._clients = clients

    def client(self, service_name, region_name=None, **kwargs):
        assert service_name == "cloudtrail"
        return self._clients[region_name]


@pytest.fixture
def stubs(moto_endpoint):
    made: dict[str, tuple[object, Stubber]] = {}

    def make(region: str):
        real = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
        ).client("cloudtrail", endpoint_url=moto_endpoint)
        stub = Stubber(real)
        made[region] = (real, stub)
        return real, stub

    yield make
    for _real, stub in made.values():
        stub.assert_no_pending_responses()
        stub.deactivate()


@pytest.fixture
def clock(monkeypatch):
    """A fake clock: sleeping advances it instantly; every sleep is recorded."""

    class Clock:
        t = 1000.0
        sleeps: list[float] = []
        lock = threading.Lock()

        def monotonic(self):
            return self.t

        def sleep(self, d):
            with self.lock:
                self.sleeps.append(d)
                self.t += d

    c = Clock()
    c.sleeps = []
    monkeypatch.setattr(lookup, "_monotonic", c.monotonic)
    monkeypatch.setattr(lookup, "_sleep", c.sleep)
    return c


def test_pages_through_every_page_with_one_attribute(stubs, clock):
    real, stub = stubs("us-east-1")
    calls = []
    real.meta.events.register(
        "before-parameter-build.cloudtrail.LookupEvents",
        lambda params, **kw: calls.append((clock.t, dict(params))),
    )
    attr = [{"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"}]
    base = {"StartTime": ANY, "EndTime": ANY, "MaxResults": 50, "LookupAttributes": attr}
    stub.add_response(
        "lookup_events",
        {"Events": [_event(i, "us-east-1") for i in range(50)], "NextToken": "page-2"},
        base,
    )
    stub.add_response(
        "lookup_events",
        {"Events": [_event(i, "us-east-1") for i in range(50, 100)], "NextToken": "page-3"},
        {**base, "NextToken": "page-2"},
    )
    stub.add_response(
        "lookup_events",
        {"Events": [_event(i, "us-east-1") for i in range(100, 107)]},
        {**base, "NextToken": "page-3"},
    )
    stub.activate()
    df = lookup.lookup_events(
        start=START,
        end=END,
        attribute=("eventname", "ConsoleLogin"),
        session=StubSession({"us-east-1": real}),
        progress=False,
    )
    assert df.height == 107
    assert df.columns == list(trailkit.SCHEMA)
    assert set(df["source_file"]) == {"lookup:us-east-1"}
    assert df["event_time"].is_sorted()
    assert set(df["actor"]) == {"user0", "user1", "user2"}
    # paced: at most 2 calls a second
    times = [t for t, _ in calls]
    assert len(times) == 3 and all(b - a >= 0.5 for a, b in zip(times, times[1:], strict=False))
    assert calls[0][1]["StartTime"] == START and calls[0][1]["EndTime"] == END


def test_throttling_is_retried_with_backoff(stubs, clock, monkeypatch):
    monkeypatch.setattr(lookup.random, "random", lambda: 1.0)  # no jitter
    real, stub = stubs("eu-west-1")
    stub.add_client_error(
        "lookup_events",
        service_error_code="ThrottlingException",
        service_message="Rate exceeded",
        http_status_code=400,
    )
    stub.add_client_error(
        "lookup_events",
        service_error_code="ThrottlingException",
        service_message="Rate exceeded",
        http_status_code=400,
    )
    stub.add_response("lookup_events", {"Events": [_event(1, "eu-west-1")]})
    stub.activate()
    df = lookup.lookup_events(
        start=START,
        end=END,
        regions=["eu-west-1"],
        session=StubSession({"eu-west-1": real}),
        progress=False,
    )
    assert df.height == 1 and df["aws_region"].to_list() == ["eu-west-1"]
    assert clock.sleeps == [0.5, 1.0]  # exponential backoff; the pacing gap is inside it


def test_gives_up_after_max_retries(stubs, clock):
    real, stub = stubs("eu-west-1")
    for _ in range(3):
        stub.add_client_error(
            "lookup_events", service_error_code="ThrottlingException", http_status_code=400
        )
    stub.activate()
    with pytest.raises(AwsError, match="still throttled.*2 requests per second"):
        lookup.lookup_events(
            start=START,
            end=END,
            regions=["eu-west-1"],
            max_retries=2,
            session=StubSession({"eu-west-1": real}),
            progress=False,
        )


def test_several_regions_concurrently(stubs, clock):
    clients = {}
    for region, n in (("us-east-1", 3), ("eu-west-1", 2), ("ap-southeast-2", 0)):
        real, stub = stubs(region)
        stub.add_response("lookup_events", {"Events": [_event(i * 7, region) for i in range(n)]})
        stub.activate()
        clients[region] = real
    df = lookup.lookup_events(
        start=START, end=END, regions=list(clients), session=StubSession(clients), progress=False
    )
    assert df.height == 5
    assert df.group_by("source_file").len().sort("source_file").rows() == [
        ("lookup:eu-west-1", 2),
        ("lookup:us-east-1", 3),
    ]
    assert df["event_time"].is_sorted()


def test_empty_result_has_the_schema(stubs, clock):
    real, stub = stubs("us-east-1")
    stub.add_response("lookup_events", {"Events": []})
    stub.activate()
    df = lookup.lookup_events(
        start=START, end=END, session=StubSession({"us-east-1": real}), progress=False
    )
    assert df.height == 0 and df.columns == list(trailkit.SCHEMA)


def test_access_denied_names_the_permission(stubs, clock):
    real, stub = stubs("us-east-1")
    stub.add_client_error(
        "lookup_events",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized",
        http_status_code=400,
    )
    stub.activate()
    with pytest.raises(AwsAccessDenied, match=r"cloudtrail:LookupEvents.*us-east-1"):
        lookup.lookup_events(
            start=START, end=END, session=StubSession({"us-east-1": real}), progress=False
        )


def test_arguments_are_checked():
    with pytest.raises(trailkit.InputError, match="did you mean 'Username'"):
        lookup.parse_attribute(("Usernme", "bob"))
    with pytest.raises(trailkit.InputError, match="exactly one attribute"):
        lookup.parse_attribute({"EventName": "a", "Username": "b"})
    with pytest.raises(trailkit.InputError, match="Swap them"):
        lookup.lookup_events(start=END, end=START)
    assert lookup.parse_attribute({"resourcename": "b"}) == {
        "AttributeKey": "ResourceName",
        "AttributeValue": "b",
    }


def test_old_start_warns_about_90_days(stubs, clock):
    real, stub = stubs("us-east-1")
    stub.add_response("lookup_events", {"Events": []})
    stub.activate()
    with pytest.warns(UserWarning, match="90 days"):
        lookup.lookup_events(
            start=NOW - timedelta(days=120),
            end=END,
            session=StubSession({"us-east-1": real}),
            progress=False,
        )


def test_regions_all_uses_describe_regions(aws_session, moto_reset):
    names = lookup._regions("all", aws_session)
    assert "us-east-1" in names and "eu-west-1" in names
