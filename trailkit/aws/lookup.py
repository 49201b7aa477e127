"""LookupEvents: the last 90 days of management events, without a trail, as a normalised frame.

CloudTrail's Event history answers ``LookupEvents`` with 50 events a page, one lookup
attribute per call, one region per call, and at most **2 requests per second per account and
region** (SPEC §6). :func:`lookup_events` pages through every result, paces each region's
calls to that rate, retries ``ThrottlingException`` with exponential backoff and jitter,
fetches several regions at once, and parses each event's ``CloudTrailEvent`` JSON with
:func:`trailkit.normalize_records`, so the frame has the same columns as events read from S3
(``source_file`` is ``lookup:<region>``).

Examples
--------
>>> import trailkit.aws
>>> df = trailkit.aws.lookup_events(start="2026-03-01", end="2026-03-10",
...                                 attribute=("EventName", "ConsoleLogin"),
...                                 regions=["us-east-1"])  # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import random
import threading
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from trailkit.aws.session import (
    AwsError,
    client,
    denied,
    error_code,
    error_message,
    is_denied,
    is_throttle,
    progress_bar,
    region_of,
    to_utc,
)
from trailkit.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import boto3
    import polars as pl

#: the lookup attributes the API accepts (botocore ``LookupAttributeKey``)
LOOKUP_KEYS = (
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
)
#: requests per second per account and region allowed by LookupEvents
API_RATE = 2.0
#: how far back Event history goes
RETENTION = timedelta(days=90)

# indirections so tests can use a fake clock
_sleep = time.sleep
_monotonic = time.monotonic


class _Pacer:
    """Spaces calls at least ``1 / rate`` seconds apart (thread-safe)."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate and rate > 0 else 0.0
        self.next_at = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = _monotonic()
            at = max(now, self.next_at)
            self.next_at = at + self.interval
        if at > now:
            _sleep(at - now)


def parse_attribute(attribute: Any) -> dict[str, str] | None:
    """One LookupEvents attribute from ``("EventName", "X")``, ``{"EventName": "X"}`` or ``"EventName=X"``.

    Keys are matched case-insensitively.

    >>> parse_attribute("username=alice")
    {'AttributeKey': 'Username', 'AttributeValue': 'alice'}
    >>> parse_attribute(("EventNmae", "DeleteBucket"))
    Traceback (most recent call last):
    ...
    trailkit.errors.InputError: attribute key 'EventNmae' is not a LookupEvents attribute (did you mean 'EventName'?). Use one of: EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource, AccessKeyId.
    """
    if attribute is None:
        return None
    if isinstance(attribute, dict):
        if len(attribute) != 1:
            raise InputError(
                f"attribute={attribute!r}: LookupEvents takes exactly one attribute per call; "
                f"call lookup_events once per attribute and combine the frames."
            )
        ((key, value),) = attribute.items()
    elif isinstance(attribute, str):
        key, sep, value = attribute.partition("=")
        if not sep:
            raise InputError(
                f"attribute={attribute!r}: write it as 'Key=Value', e.g. 'EventName=ConsoleLogin'."
            )
    elif isinstance(attribute, Sequence) and len(attribute) == 2:
        key, value = attribute
    else:
        raise InputError(
            f"attribute={attribute!r}: pass ('EventName', 'ConsoleLogin'), "
            f"{{'EventName': 'ConsoleLogin'}} or 'EventName=ConsoleLogin'."
        )
    key = str(key).strip()
    canon = {k.lower(): k for k in LOOKUP_KEYS}.get(key.lower())
    if canon is None:
        near = difflib.get_close_matches(key, LOOKUP_KEYS, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise InputError(
            f"attribute key {key!r} is not a LookupEvents attribute{hint}. Use one of: "
            f"{', '.join(LOOKUP_KEYS)}."
        )
    return {"AttributeKey": canon, "AttributeValue": str(value)}


def _regions(regions: str | Sequence[str] | None, session) -> list[str]:
    if regions is None:
        return [region_of(session)]
    if isinstance(regions, str):
        if regions == "all":
            ec2 = client("ec2", session)
            try:
                names = [r["RegionName"] for r in ec2.describe_regions()["Regions"]]
            except Exception as exc:
                if is_denied(exc):
                    raise denied(
                        "listing the enabled regions", "ec2:DescribeRegions", "*", exc
                    ) from exc
                raise
            return sorted(names)
        return [regions]
    return list(dict.fromkeys(regions))


def _region_error(exc: Exception, region: str, params: dict[str, Any]) -> Exception:
    code = error_code(exc)
    if is_denied(exc):
        return denied(
            f"calling LookupEvents in {region}",
            "cloudtrail:LookupEvents",
            f"the account in {region} (resource '*')",
            exc,
        )
    if code in (
        "InvalidTimeRangeException",
        "InvalidLookupAttributesException",
        "InvalidEventCategoryException",
        "InvalidMaxResultsException",
    ):
        return InputError(
            f"LookupEvents in {region} rejected the request ({code}: {error_message(exc)}). "
            f"Request: {params}."
        )
    if is_throttle(exc):
        return AwsError(
            f"LookupEvents in {region} was still throttled after retrying ({code}). The API allows "
            f"2 requests per second per account and region, shared with everyone calling it; try "
            f"again later, with fewer regions, or with a lookup attribute to narrow the result."
        )
    return AwsError(
        f"LookupEvents in {region} failed ({code or type(exc).__name__}: {error_message(exc)})."
    )


def _retryable(exc: Exception) -> bool:
    if is_throttle(exc):
        return True
    status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
    return isinstance(status, int) and status >= 500


def _lookup_region(
    ct,
    region: str,
    params: dict[str, Any],
    rate: float,
    max_retries: int,
    bar,
) -> list[str]:
    pacer = _Pacer(rate)
    records: list[str] = []
    token: str | None = None
    while True:
        request = dict(params)
        if token:
            request["NextToken"] = token
        attempt = 0
        while True:
            pacer.wait()
            try:
                resp = ct.lookup_events(**request)
                break
            except Exception as exc:
                if _retryable(exc) and attempt < max_retries:
                    delay = min(20.0, 0.5 * 2**attempt) * (0.5 + random.random() / 2)  # noqa: S311
                    attempt += 1
                    _sleep(delay)
                    continue
                raise _region_error(exc, region, params) from exc
        events = resp.get("Events", []) or []
        records.extend(e["CloudTrailEvent"] for e in events if e.get("CloudTrailEvent"))
        bar.update(len(events))
        token = resp.get("NextToken")
        if not token:
            return records


def lookup_events(
    *,
    start: str | datetime | date,
    end: str | datetime | date | None = None,
    regions: str | Sequence[str] | None = None,
    attribute: Any = None,
    session: boto3.Session | None = None,
    insights: bool = False,
    progress: bool | None = None,
    max_rate: float = API_RATE,
    max_retries: int = 8,
) -> pl.DataFrame:
    """Events from CloudTrail Event history (LookupEvents), in the normalised schema.

    Parameters
    ----------
    start, end
        The window (UTC; naive values are UTC; ``end`` defaults to now). Event history keeps
        90 days; older events need :func:`trailkit.aws.fetch_logs`.
    regions
        Regions to query (concurrently). Default: the session's region. ``"all"`` queries every
        region enabled for the account. Global-service events (IAM, STS, sign-in) are in
        ``us-east-1``.
    attribute
        At most one lookup attribute: ``("EventName", "ConsoleLogin")``,
        ``{"Username": "alice"}`` or ``"ResourceName=my-bucket"``. Keys: ``EventId``,
        ``EventName``, ``ReadOnly``, ``Username``, ``ResourceType``, ``ResourceName``,
        ``EventSource``, ``AccessKeyId``.
    session
        A ``boto3.Session`` (default: the normal credential chain).
    insights
        Look up Insights events instead of management events.
    progress
        Show a progress bar (default: in a terminal or notebook).
    max_rate
        Calls per second per region (the API allows 2).
    max_retries
        Retries of a throttled call before giving up.

    Returns
    -------
    polars.DataFrame
        One row per event, sorted by ``event_time``; ``source_file`` is ``lookup:<region>``.

    Examples
    --------
    >>> df = lookup_events(start="2026-03-09", end="2026-03-10", regions=["us-east-1", "eu-west-1"],
    ...                    attribute="EventName=AuthorizeSecurityGroupIngress")  # doctest: +SKIP
    >>> df.select("event_time", "actor", "aws_region").head()  # doctest: +SKIP
    """
    import polars as pl

    from trailkit.load import normalize_records
    from trailkit.schema import conform, empty_frame

    t0 = to_utc(start, "start")
    if t0 is None:
        raise InputError("lookup_events needs start=, e.g. start='2026-03-01'.")
    t1 = to_utc(end, "end") or datetime.now(UTC)
    if t0 > t1:
        raise InputError(f"start {t0.isoformat()} is after end {t1.isoformat()}. Swap them.")
    cutoff = datetime.now(UTC) - RETENTION
    if t0 < cutoff:
        warnings.warn(
            f"LookupEvents keeps 90 days: events before {cutoff:%Y-%m-%d} are not returned. "
            f"Use trailkit.aws.fetch_logs for older events.",
            stacklevel=2,
        )
    params: dict[str, Any] = {"StartTime": t0, "EndTime": t1, "MaxResults": 50}
    attr = parse_attribute(attribute)
    if attr:
        params["LookupAttributes"] = [attr]
    if insights:
        params["EventCategory"] = "insight"
    names = _regions(regions, session)

    # clients are made here, not in the threads: a boto3.Session is not thread-safe
    clients = {r: client("cloudtrail", session, region=r, retries=1) for r in names}
    bar = progress_bar(None, "LookupEvents", progress, unit="event")
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(len(names), 8))) as pool:
            futures = {
                r: pool.submit(_lookup_region, clients[r], r, params, max_rate, max_retries, bar)
                for r in names
            }
            results = {r: f.result() for r, f in futures.items()}
    finally:
        bar.close()
    frames = [normalize_records(recs, source=f"lookup:{r}") for r, recs in results.items() if recs]
    if not frames:
        return empty_frame()
    df = pl.concat([conform(f) for f in frames], how="vertical")
    return df.sort("event_time", maintain_order=True, nulls_last=True)
