"""A first-look investigation summary of loaded events, as text (used by ``trailkit summary``).

What a responder wants in the first minute: how much is there and from when, which accounts
and regions, who is most active, what failed, and the events that usually matter (root use,
console sign-ins without MFA, destructive calls, world-open ports, big instance launches,
activity in rarely used regions).

>>> import polars as pl, trailkit
>>> df = trailkit.normalize_records([{"eventTime": "2026-03-10T14:05:32Z", "eventName": "ListBuckets",
...     "awsRegion": "eu-west-1", "userIdentity": {"type": "IAMUser", "userName": "alice"}}])
>>> print(summarize(df).splitlines()[0])
1 events from 2026-03-10 14:05:32 to 2026-03-10 14:05:32 UTC
"""

from __future__ import annotations

import polars as pl

from trailkit.problems import LoadReport

#: event names that destroy or weaken something; worth a look in any investigation
DESTRUCTIVE = (
    "DeleteBucket", "DeleteBucketPolicy", "PutBucketAcl", "PutBucketPolicy", "DeleteTrail",
    "StopLogging", "UpdateTrail", "PutEventSelectors", "DeleteFlowLogs", "DeleteDetector",
    "DisableKey", "ScheduleKeyDeletion", "DeleteDBInstance", "DeleteUser", "CreateAccessKey",
    "CreateUser", "AttachUserPolicy", "AttachRolePolicy", "PutUserPolicy", "PutRolePolicy",
    "DeleteSecurityGroup", "AuthorizeSecurityGroupIngress", "DeleteLogGroup", "LeaveOrganization",
)


def _table(df: pl.DataFrame, limit: int = 8) -> list[str]:
    """Plain-text rows ``a  b  c`` (terminal output: no markup)."""
    if df.is_empty():
        return ["  (none)"]
    rows = [[("" if v is None else str(v)) for v in r] for r in df.head(limit).iter_rows()]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(df.columns)]
    fmt = "  " + "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*df.columns), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*(_printable(v) for v in r)) for r in rows]
    if df.height > limit:
        out.append(f"  ... {df.height - limit} more")
    return out


def _printable(text: str) -> str:
    """Log text is attacker-controlled: drop control characters so it cannot drive the terminal."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:80]


def summarize(events: pl.DataFrame, report: LoadReport | None = None, *, top: int = 8) -> str:
    """A short investigation summary of ``events`` (a normalised frame) as plain text.

    Parameters
    ----------
    events
        Events from :func:`trailkit.read_events`.
    report
        The load report, to list what was skipped.
    top
        Rows per table.

    >>> summarize(pl.DataFrame(schema=__import__("trailkit").SCHEMA))
    'No events loaded.'
    """
    if events.is_empty():
        return "No events loaded."
    lines: list[str] = []
    t0, t1 = events["event_time"].min(), events["event_time"].max()
    fmt = "%Y-%m-%d %H:%M:%S"
    lines.append(f"{events.height:,} events from {t0:{fmt}} to {t1:{fmt}} UTC" if t0 and t1
                 else f"{events.height:,} events")
    accounts = events["recipient_account_id"].drop_nulls().unique().sort().to_list()
    # every ranking breaks ties by name: the same logs always print the same summary
    regions = events.group_by("aws_region").len().sort(["len", "aws_region"], descending=[True, False])
    lines.append(f"accounts: {', '.join(accounts) or '-'}")
    lines.append("regions:  " + ", ".join(f"{r} ({n:,})" for r, n in regions.iter_rows()))
    failed = events.filter(~pl.col("success"))
    lines.append(f"failed calls: {failed.height:,} ({failed.height / events.height:.1%})")
    if report is not None and report.problems:
        lines.append(f"load problems: {report.summary()}")

    lines += ["", "Most active identities:"]
    lines += _table(
        events.group_by("actor", "identity_type").agg(pl.len().alias("events"),
                                                      pl.col("source_ip").n_unique().alias("ips"))
        .sort(["events", "actor", "identity_type"], descending=[True, False, False], nulls_last=True), top)

    lines += ["", "Most common errors:"]
    lines += _table(failed.group_by("error_code", "event_name").agg(pl.len().alias("events"))
                    .sort(["events", "error_code", "event_name"], descending=[True, False, False],
                          nulls_last=True), top)

    by_time = ["event_time", "event_id"]  # the listings below, in time order whatever the input order
    root = events.filter(pl.col("identity_type") == "Root").sort(by_time, nulls_last=True)
    lines += ["", f"Root activity ({root.height}):"]
    lines += _table(root.select("event_time", "event_name", "source_ip", "aws_region", "success"), top)

    no_mfa = events.filter((pl.col("event_name") == "ConsoleLogin")
                           & (pl.col("mfa_authenticated") == False)).sort(by_time, nulls_last=True)  # noqa: E712
    lines += ["", f"Console sign-ins without MFA ({no_mfa.height}):"]
    lines += _table(no_mfa.select("event_time", "actor", "source_ip", "success"), top)

    destructive = events.filter(pl.col("event_name").is_in(DESTRUCTIVE)).sort(by_time, nulls_last=True)
    lines += ["", f"Destructive or security-relevant calls ({destructive.height}):"]
    lines += _table(destructive.select("event_time", "event_name", "actor", "source_ip", "aws_region",
                                       "success"), top * 2)

    per_region = events.group_by("aws_region").agg(pl.len().alias("events"),
                                                   pl.col("actor").unique().sort().str.join(", ").alias("who"))
    rare = per_region.filter(pl.col("events") < max(5, events.height * 0.002)).sort(["events", "aws_region"])
    lines += ["", "Rarely used regions (possible unexpected activity):"]
    lines += _table(rare, top)

    lines += _scenario_lines(events, top)
    return "\n".join(lines)


def _scenario_lines(events: pl.DataFrame, top: int) -> list[str]:
    """Findings of the scenario functions (world-open ports, bucket deletions, big launches)."""
    from trailkit import scenarios

    out: list[str] = []
    deleted = scenarios.who_deleted_bucket(events)
    if "event_name" in deleted.columns:
        deleted = deleted.filter((pl.col("event_name") == "DeleteBucket") & pl.col("success"))
    cols = [c for c in ("event_time", "bucket", "actor", "session_started_by", "source_ip") if c in deleted.columns]
    out += ["", f"Buckets deleted ({deleted.height}):"] + _table(deleted.select(cols), top)

    ingress = scenarios.open_ingress(events)
    cols = [c for c in ("event_time", "group_id", "from_port", "to_port", "cidr", "actor",
                        "session_started_by", "revoked_by", "exposure_seconds", "still_open")
            if c in ingress.columns]
    out += ["", f"Ports 22/3389 opened to the world ({ingress.height}):"] + _table(ingress.select(cols), top)

    launches = scenarios.instance_launches(events)
    if "hourly_usd" in launches.columns:
        # one row per instance: a launch of two shows twice, told apart by instance_id
        big = launches.filter(pl.col("hourly_usd") >= 5).sort(["hourly_usd", "event_time", "instance_id"],
                                                               descending=[True, False, False], nulls_last=True)
        cols = [c for c in ("event_time", "instance_id", "instance_type", "actor", "session_started_by",
                            "aws_region", "success", "error_code", "hourly_usd")
                if c in big.columns]
        out += ["", f"Expensive instance launches, $5+/hour ({big.height}):"] + _table(big.select(cols), top)
    return out
