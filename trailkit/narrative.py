"""Answers in words, written from the data: the sentences the notebooks show.

Each ``explain_*`` function takes the frame a scenario function returned and writes Markdown
that states the answer (who, what, when, from where, and what is missing). Nothing is typed
by hand in the notebooks: run them on other logs and the sentences change with the data.

Every value that came from the logs goes through :func:`trailkit.display.md_code` (a code
span: shown literally, never as markup), so a bucket named ``<img src=x onerror=...>``
cannot inject HTML into a notebook or its export.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timezone
>>> t = datetime(2026, 3, 10, 9, 5, tzinfo=timezone.utc)
>>> h = pl.DataFrame({"event_time": [t], "bucket": ["logs"], "event_name": ["DeleteBucket"],
...     "success": [True], "actor": ["alice"], "identity_type": ["IAMUser"],
...     "attribution_method": ["direct"]})
>>> print(explain_bucket_deletion(h).splitlines()[0])
**Bucket `logs` was deleted on 2026-03-10 at 09:05:00 UTC by `alice`** (IAMUser).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import polars as pl

from trailkit.display import md_code, md_text
from trailkit.errors import InputError

#: how each attribution method is said in words
METHOD_WORDS: dict[str, str] = {
    "direct": "the caller is a long-term identity, not a session",
    "access_key": "the session's temporary access key matches the STS call that issued it",
    "session_name+role": "the role and session name match an STS call at that time (weaker: session names can be reused)",
    "saml": "the chain starts at a SAML sign-in",
    "web_identity": "the chain starts at a web-identity (OIDC) sign-in",
    "source_identity": "the session carries an STS source identity",
    "identity_center": "an IAM Identity Center user",
    "session_issuer": "a federated user: the IAM user named as the session issuer called GetFederationToken",
    "aws_service": "an AWS service acted; no person is behind this call",
    "none": "not traced",
}


class Narrative(str):
    """Markdown text that notebooks display as formatted text (and tests can read as a str).

    Examples
    --------
    >>> Narrative("**hi**")._repr_markdown_()
    '**hi**'
    """

    def _repr_markdown_(self) -> str:
        return str(self)


def _when(t: datetime | None) -> str:
    if t is None:
        return "an unknown time"
    return t.strftime("%Y-%m-%d at %H:%M:%S UTC")


def _short(t: datetime | None) -> str:
    return "?" if t is None else t.strftime("%Y-%m-%d %H:%M UTC")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "an unknown time"
    s = int(seconds)
    if s >= 86400:
        return f"{s // 86400} d {s % 86400 // 3600} h"
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60} min"
    if s >= 60:
        return f"{s // 60} min"
    return f"{s} s"


def _need(df: Any, columns: tuple[str, ...], where: str) -> pl.DataFrame:
    if not isinstance(df, pl.DataFrame):
        raise InputError(
            f"{where}: expected the polars DataFrame a scenario function returned, got {type(df).__name__}."
        )
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            f"{where}: the frame lacks column(s) {', '.join(missing)}; pass the result of the "
            "matching scenario function unchanged."
        )
    return df


def _get(row: Mapping[str, Any], key: str) -> Any:
    return row.get(key)


def who_line(row: Mapping[str, Any]) -> str:
    """One sentence on the person behind a call, from the attribution columns.

    Examples
    --------
    >>> print(who_line({"actor": "Admin/job", "identity_type": "AssumedRole",
    ...     "session_started_by": "bob", "attribution_method": "access_key",
    ...     "attribution_chain": "bob → Admin/job"}))  # doctest: +NORMALIZE_WHITESPACE
    The session was started by **`bob`** (chain `bob → Admin/job`; the session's temporary
    access key matches the STS call that issued it).
    """
    method = _get(row, "attribution_method")
    person = _get(row, "session_started_by")
    if method == "direct" or (method is None and _get(row, "identity_type") in ("IAMUser", "Root")):
        key = _get(row, "access_key_id")
        extra = f" (access key {md_code(key)})" if key else ""
        return f"This is a long-term identity: whoever holds its credentials{extra} made the call."
    if method == "aws_service":
        return f"An AWS service made this call ({md_text(_get(row, 'attribution_note') or 'invokedBy')})."
    if person:
        arn = _get(row, "started_by_arn")
        arn_text = f", {md_code(arn)}" if arn and arn != person else ""
        chain = _get(row, "attribution_chain")
        chain_text = f"chain {md_code(chain)}; " if chain else ""
        how = METHOD_WORDS.get(method or "", md_text(method or "linked"))
        line = f"The session was started by **{md_code(person)}**{arn_text} ({chain_text}{how})."
        note = _get(row, "attribution_note")
        if note:
            line += f" Caveat: {md_text(note, 300)}."
        return line
    note = _get(row, "attribution_note")
    return "**The person behind this session is not in these logs**" + (
        f": {md_text(note, 300)}." if note else "."
    )


def _where_line(row: Mapping[str, Any]) -> str:
    parts = []
    if _get(row, "source_ip"):
        parts.append(f"from {md_code(row['source_ip'])}")
    if _get(row, "user_agent"):
        parts.append(f"with user agent {md_code(row['user_agent'], 120)}")
    if _get(row, "aws_region"):
        parts.append(f"in region {md_code(row['aws_region'])}")
    if _get(row, "vpc_endpoint_id"):
        parts.append(f"through VPC endpoint {md_code(row['vpc_endpoint_id'])}")
    return ("The call came " + ", ".join(parts) + ".") if parts else ""


# -- scenario 1: bucket deletion ---------------------------------------------------------------


def explain_bucket_deletion(history: pl.DataFrame, *, max_buckets: int = 5) -> Narrative:
    """Who deleted which bucket, the person behind it, and what changed on it before.

    Parameters
    ----------
    history
        The frame :func:`trailkit.who_deleted_bucket` returned.
    max_buckets
        Describe at most this many deletions (the rest are counted).

    Examples
    --------
    >>> explain_bucket_deletion(pl.DataFrame({"event_time": [], "bucket": [],
    ...     "event_name": []}, schema={"event_time": pl.Datetime("us", "UTC"),
    ...     "bucket": pl.String, "event_name": pl.String})).startswith("**No bucket")
    True
    """
    df = _need(history, ("event_time", "bucket", "event_name"), "explain_bucket_deletion")
    ok = pl.col("success").fill_null(True) if "success" in df.columns else pl.lit(True)
    deletions = df.filter((pl.col("event_name") == "DeleteBucket") & ok).sort("event_time")
    failed = df.filter(~ok) if "success" in df.columns else df.clear()
    lines: list[str] = []
    if deletions.height == 0:
        lines.append("**No bucket was deleted in these logs.**")
        if failed.height:
            lines.append(
                f"There were {failed.height} failed call(s) on the buckets looked at "
                f"({md_text(', '.join(sorted(set(failed['error_code'].drop_nulls().to_list()))) or 'errors')})."
            )
        lines.append(
            "If a bucket is gone, check that the logs cover the time it disappeared, the account "
            "that owned it and every region (`DeleteBucket` is a management event, recorded in the "
            "bucket's region), and that the trail was not stopped (`StopLogging`)."
        )
        return Narrative("\n\n".join(lines))
    for row in deletions.head(max_buckets).iter_rows(named=True):
        bucket = row["bucket"]
        kind = row.get("identity_type")
        lines.append(
            f"**Bucket {md_code(bucket)} was deleted on {_when(row['event_time'])} by "
            f"{md_code(row.get('actor') or '?')}**" + (f" ({md_text(kind)})." if kind else ".")
        )
        detail = [who_line(row)]
        where = _where_line(row)
        if where:
            detail.append(where)
        if row.get("event_id"):
            detail.append(f"Evidence: event {md_code(row['event_id'])}.")
        lines.append(" ".join(detail))
        before = df.filter(
            (pl.col("bucket") == bucket)
            & (pl.col("event_time") <= row["event_time"])
            & ((pl.col("event_name") != "DeleteBucket") | ~ok)
        ).sort("event_time")
        if before.height:
            lines.append(
                f"Before the deletion, {before.height} other call(s) on {md_code(bucket)}:"
            )
            items = []
            for b in before.tail(10).iter_rows(named=True):
                who = b.get("session_started_by") or b.get("actor") or "?"
                change = b.get("change") or b.get("event_name")
                items.append(
                    f"- {_short(b['event_time'])}: {md_text(change, 120)} — by {md_code(b.get('actor') or '?')}"
                    + (f" (person: {md_code(who)})" if who != b.get("actor") else "")
                )
            lines.append("\n".join(items))
    if deletions.height > max_buckets:
        lines.append(f"…and {deletions.height - max_buckets} more deletion(s): see the table.")
    return Narrative("\n\n".join(lines))


# -- scenario 2: security groups open to the world ------------------------------------------------


def explain_open_ingress(rules: pl.DataFrame, *, max_rules: int = 8) -> Narrative:
    """Which rules opened which ports to the world, who did it, and how long they stayed open.

    Parameters
    ----------
    rules
        The frame :func:`trailkit.open_ingress` returned.
    max_rules
        List at most this many rules (longest exposure first).

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 10, 9, tzinfo=timezone.utc)
    >>> r = pl.DataFrame({"event_time": [t], "group_id": ["sg-1"], "cidr": ["0.0.0.0/0"],
    ...     "ports_exposed": [[22]], "success": [True], "still_open": [True],
    ...     "exposure_seconds": [7200.0], "actor": ["alice"]})
    >>> print(explain_open_ingress(r).splitlines()[0])
    **1 rule opened port 22 to the world** in 1 security group; **1 is still open** at the end of the logs.
    """
    df = _need(rules, ("event_time", "group_id", "success", "still_open"), "explain_open_ingress")
    opened = df.filter(pl.col("success").fill_null(True))
    failed = df.filter(~pl.col("success").fill_null(True))
    if opened.height == 0:
        text = "**No rule opened these ports to the world in these logs.**"
        if failed.height:
            text += (
                f" {failed.height} attempt(s) failed (an SCP or IAM policy may have stopped them)."
            )
        return Narrative(text)
    ports = (
        sorted({p for ps in opened["ports_exposed"].to_list() if ps for p in ps})
        if "ports_exposed" in opened.columns
        else []
    )
    port_text = ", ".join("all ports" if p == -1 else str(p) for p in ports) or "a listed port"
    n_open = int(opened["still_open"].fill_null(False).sum())
    groups = opened["group_id"].n_unique()
    lines = [
        f"**{opened.height} rule{'s' if opened.height != 1 else ''} opened port{'s' if len(ports) > 1 else ''} "
        f"{port_text} to the world** in {groups} security group{'s' if groups != 1 else ''}; "
        + (
            f"**{n_open} {'is' if n_open == 1 else 'are'} still open** at the end of the logs."
            if n_open
            else "all were closed again."
        )
    ]
    items = []
    sort_col = "exposure_seconds" if "exposure_seconds" in opened.columns else "event_time"
    for row in (
        opened.sort(sort_col, descending=True, nulls_last=True)
        .head(max_rules)
        .iter_rows(named=True)
    ):
        person = row.get("session_started_by")
        who = md_code(row.get("actor") or "?") + (
            f" (person: **{md_code(person)}**)" if person and person != row.get("actor") else ""
        )
        ports_row = ", ".join(
            "all" if p == -1 else str(p) for p in (row.get("ports_exposed") or [])
        )
        head = f"- {md_code(row['group_id'])} port {ports_row or '?'} from {md_code(row.get('cidr') or '?')}: opened {_short(row['event_time'])} by {who}"
        if row.get("still_open"):
            tail = f"; **still open** — at least {_duration(row.get('exposure_seconds'))} so far."
        else:
            closer = row.get("revoked_by")
            tail = (
                f"; closed after {_duration(row.get('exposure_seconds'))}"
                + (f" by {md_code(closer)}" if closer else "")
                + "."
            )
        items.append(head + tail)
    lines.append("\n".join(items))
    if opened.height > max_rules:
        lines.append(f"…and {opened.height - max_rules} more: see the table.")
    if failed.height:
        lines.append(f"{failed.height} more attempt(s) failed and opened nothing.")
    unresolved = (
        opened.filter(pl.col("attribution_method") == "none").height
        if "attribution_method" in opened.columns
        else 0
    )
    if unresolved:
        lines.append(
            f"For {unresolved} rule(s) the person behind the role session is not in these logs "
            "(load the STS `AssumeRole` events from us-east-1 or widen the time range)."
        )
    return Narrative("\n\n".join(lines))


# -- first look ---------------------------------------------------------------------------------


def describe_events(events: pl.DataFrame) -> Narrative:
    """A first look in words: how many events, the time span, actors, regions, failures.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 10, 9, tzinfo=timezone.utc)
    >>> describe_events(pl.DataFrame({"event_time": [t], "actor": ["alice"]})).split(" from ")[0]
    '**1 event**'
    """
    df = _need(events, ("event_time",), "describe_events")
    if df.height == 0:
        return Narrative(
            "**No events loaded.** Check the path in `LOGS` and the load report above."
        )
    t0, t1 = df["event_time"].min(), df["event_time"].max()
    parts = [
        f"**{df.height:,} event{'s' if df.height != 1 else ''}** from {_short(t0)} to {_short(t1)}"
    ]
    facts = []
    for column, word in (
        ("actor", "actors"),
        ("recipient_account_id", "accounts"),
        ("aws_region", "regions"),
        ("event_source", "services"),
        ("event_name", "kinds of call"),
    ):
        if column in df.columns:
            facts.append(f"{df[column].n_unique():,} {word}")
    text = parts[0] + (": " + ", ".join(facts) if facts else "") + "."
    if "success" in df.columns:
        failed = int((~df["success"].fill_null(True)).sum())
        text += f" {failed:,} call{'s' if failed != 1 else ''} failed ({failed / df.height:.1%})."
    if "actor" in df.columns:
        top = df.group_by("actor").len().sort("len", descending=True).head(3)
        names = ", ".join(f"{md_code(a)} ({n:,})" for a, n in top.iter_rows())
        text += f" Busiest: {names}."
    return Narrative(text)


# -- scenario 3: instance launches ----------------------------------------------------------------


def _money(value: float | None) -> str:
    return "$?" if value is None else f"${value:,.2f}"


def explain_instance_launches(
    launches: pl.DataFrame, *, expensive_per_hour: float = 1.0, max_people: int = 5
) -> Narrative:
    """Who launched how many instances of which types, and the estimated cost.

    Parameters
    ----------
    launches
        The frame :func:`trailkit.instance_launches` returned.
    expensive_per_hour
        An instance type costing at least this many USD per hour counts as "large".
    max_people
        Name at most this many principals (costliest first).

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 10, 9, tzinfo=timezone.utc)
    >>> l = pl.DataFrame({"event_time": [t], "actor": ["dev"], "count": [1],
    ...     "success": [True], "instance_type": ["p3.16xlarge"], "hourly_usd": [24.48],
    ...     "estimated_cost_usd": [48.96], "still_running": [False]})
    >>> print(explain_instance_launches(l).splitlines()[0])
    **1 instance launched** by 1 principal from 2026-03-10 09:00 UTC to 2026-03-10 09:00 UTC; estimated cost **$48.96** (on-demand prices, to stop/terminate or the end of the logs).
    """
    df = _need(launches, ("event_time", "count", "success"), "explain_instance_launches")
    if df.height == 0:
        return Narrative(
            "**No `RunInstances` calls in these logs.** Launches are management events in the "
            "region of the instance: check that every region is loaded."
        )
    ok = pl.col("success").fill_null(True)
    person = pl.coalesce(
        pl.col("session_started_by")
        if "session_started_by" in df.columns
        else pl.lit(None, pl.String),
        pl.col("actor") if "actor" in df.columns else pl.lit(None, pl.String),
    ).fill_null("(unknown)")
    cost = (
        pl.col("estimated_cost_usd").fill_null(0)
        if "estimated_cost_usd" in df.columns
        else pl.lit(0.0)
    )
    hourly = pl.col("hourly_usd") if "hourly_usd" in df.columns else pl.lit(None, pl.Float64)
    launched = df.filter(ok)
    n = int(launched["count"].sum() or 0)
    people = launched.select(person.alias("p"))["p"].n_unique()
    total = float(launched.select(cost.sum()).item() or 0.0)
    t0, t1 = df["event_time"].min(), df["event_time"].max()
    lines = [
        f"**{n:,} instance{'s' if n != 1 else ''} launched** by {people} principal{'s' if people != 1 else ''} "
        f"from {_short(t0)} to {_short(t1)}; estimated cost **{_money(total)}** (on-demand prices, "
        "to stop/terminate or the end of the logs)."
    ]
    big = launched.filter(hourly >= expensive_per_hour)
    if big.height:
        per = (
            big.with_columns(person.alias("p"), cost.alias("c"))
            .group_by("p")
            .agg(
                pl.col("count").sum().alias("n"),
                pl.col("c").sum().alias("c"),
                pl.col("instance_type")
                .drop_nulls()
                .unique()
                .sort()
                .head(3)
                .str.join(", ")
                .alias("types")
                if "instance_type" in big.columns
                else pl.lit("").alias("types"),
            )
            .sort("c", descending=True)
        )
        items = [
            f"- **{md_code(p)}**: {k:,} instance{'s' if k != 1 else ''} "
            f"({md_code(types) if types else 'type unknown'}), about {_money(c)}"
            for p, k, c, types in per.select("p", "n", "c", "types").head(max_people).iter_rows()
        ]
        lines.append(
            f"**Large instances** (at least {_money(expensive_per_hour)} per hour): "
            f"{int(big['count'].sum()):,}, launched by:\n\n" + "\n".join(items)
        )
    else:
        lines.append(
            f"No instance costing {_money(expensive_per_hour)} per hour or more was launched."
        )
    if "still_running" in launched.columns:
        running = launched.filter(pl.col("still_running").fill_null(False))
        if running.height:
            per_hour = float(
                running.select((hourly.fill_null(0) * pl.col("count")).sum()).item() or 0.0
            )
            lines.append(
                f"{int(running['count'].sum()):,} of them are **still running** at the end of the logs "
                f"(about {_money(per_hour)} per hour)."
            )
    failed = df.filter(~ok)
    if failed.height:
        codes = (
            ", ".join(sorted(set(failed["error_code"].drop_nulls().to_list())))
            if "error_code" in failed.columns
            else ""
        )
        lines.append(
            f"{failed.height:,} call(s) failed" + (f" ({md_text(codes)})" if codes else "") + "."
        )
    unresolved = (
        launched.filter(pl.col("attribution_method") == "none").height
        if "attribution_method" in launched.columns
        else 0
    )
    if unresolved:
        lines.append(
            f"For {unresolved} launch(es) the person behind the role session is not in these logs."
        )
    return Narrative("\n\n".join(lines))


def explain_policy_what_if(what_if: pl.DataFrame, allowed: Any = None) -> Narrative:
    """What the instance-type policy would have done to the launches in the logs.

    Parameters
    ----------
    what_if
        The frame :func:`trailkit.policy_what_if` returned; with ``only_blocked=False`` the
        sentence also says how many calls were allowed.
    allowed
        The allowed instance types (shown in the sentence).

    Examples
    --------
    >>> v = pl.DataFrame({"actor": ["dev"], "verdict": ["blocked"], "count": [1],
    ...     "instance_type": ["p3.16xlarge"], "estimated_cost_usd": [48.96]})
    >>> print(explain_policy_what_if(v, ["t3.small"]).splitlines()[0])
    With a policy that allows only `t3.small`, **1 `RunInstances` call would have been denied** (1 instance, about $48.96 of estimated cost).
    """
    df = _need(what_if, ("verdict",), "explain_policy_what_if")
    types = ""
    if allowed:
        items = [allowed] if isinstance(allowed, str) else list(allowed)
        types = ", ".join(md_code(t) for t in items)
    head = f"With a policy that allows only {types}, " if types else "With the policy, "
    blocked = df.filter(pl.col("verdict") == "blocked")
    count = pl.col("count") if "count" in df.columns else pl.lit(1)
    cost = (
        pl.col("estimated_cost_usd").fill_null(0)
        if "estimated_cost_usd" in df.columns
        else pl.lit(0.0)
    )
    if blocked.height == 0:
        return Narrative(head + "**no `RunInstances` call in these logs would have been denied.**")
    n_inst = int(blocked.select(count.sum()).item() or 0)
    saved = float(blocked.select(cost.sum()).item() or 0.0)
    lines = [
        head
        + f"**{blocked.height} `RunInstances` call{'s' if blocked.height != 1 else ''} would have been denied** "
        f"({n_inst:,} instance{'s' if n_inst != 1 else ''}, about {_money(saved)} of estimated cost)."
    ]
    others = df.filter(pl.col("verdict") != "blocked")
    if others.height:
        allowed_n = others.filter(pl.col("verdict") == "allowed").height
        unknown_n = others.filter(pl.col("verdict") == "unknown").height
        lines.append(
            f"{allowed_n} call(s) would still be allowed"
            + (
                f"; for {unknown_n} the instance type is not in the event (launch template)"
                if unknown_n
                else ""
            )
            + "."
        )
    person = pl.coalesce(
        pl.col("session_started_by")
        if "session_started_by" in df.columns
        else pl.lit(None, pl.String),
        pl.col("actor") if "actor" in df.columns else pl.lit(None, pl.String),
    ).fill_null("(unknown)")
    per = (
        blocked.group_by(person.alias("p"))
        .agg(pl.len().alias("n"))
        .sort(["n", "p"], descending=[True, False])
    )
    lines.append(
        "Denied calls by: "
        + ", ".join(f"{md_code(p)} ({n})" for p, n in per.head(6).iter_rows())
        + ("…" if per.height > 6 else "")
        + "."
    )
    if "policy_note" in blocked.columns:
        svc = blocked.filter(pl.col("policy_note").str.contains("service-linked")).height
        if svc:
            lines.append(
                f"{svc} of them were made by an AWS service (Auto Scaling, EKS, ...): a policy on "
                "people does not stop those; use a service control policy (SCP) as well."
            )
    return Narrative("\n\n".join(lines))


# -- key answers (shown with trailkit.display.answers and checked by CI) -------------------------


def _person_expr(df: pl.DataFrame) -> pl.Expr:
    actor = pl.col("actor") if "actor" in df.columns else pl.lit(None, pl.String)
    started = (
        pl.col("session_started_by")
        if "session_started_by" in df.columns
        else pl.lit(None, pl.String)
    )
    return pl.coalesce(started, actor)


def answers_bucket_deletion(history: pl.DataFrame) -> dict[str, Any]:
    """The key facts of :func:`explain_bucket_deletion`, as plain values.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 10, 9, 5, tzinfo=timezone.utc)
    >>> answers_bucket_deletion(pl.DataFrame({"event_time": [t], "bucket": ["b"],
    ...     "event_name": ["DeleteBucket"], "success": [True], "actor": ["alice"]}))["person"]
    'alice'
    """
    df = _need(history, ("event_time", "bucket", "event_name"), "answers_bucket_deletion")
    ok = pl.col("success").fill_null(True) if "success" in df.columns else pl.lit(True)
    deleted = df.filter((pl.col("event_name") == "DeleteBucket") & ok).sort("event_time")
    out: dict[str, Any] = {"deletions": deleted.height}
    if deleted.height:
        first = deleted.with_columns(_person_expr(deleted).alias("_person")).row(0, named=True)
        out.update(
            bucket=first["bucket"],
            deleted_at=first["event_time"],
            deleted_by=first.get("actor"),
            deleted_by_arn=first.get("principal_arn"),
            person=first["_person"],
            attribution_method=first.get("attribution_method"),
            buckets_deleted=sorted(set(deleted["bucket"].drop_nulls().to_list())),
        )
    return out


def answers_open_ingress(rules: pl.DataFrame) -> dict[str, Any]:
    """The key facts of :func:`explain_open_ingress`, as plain values.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 10, 9, tzinfo=timezone.utc)
    >>> answers_open_ingress(pl.DataFrame({"event_time": [t], "group_id": ["sg-1"],
    ...     "success": [True], "still_open": [True], "actor": ["a"]}))["still_open"]
    1
    """
    df = _need(rules, ("event_time", "group_id", "success", "still_open"), "answers_open_ingress")
    opened = df.filter(pl.col("success").fill_null(True))
    people = opened.select(_person_expr(opened).alias("p"))["p"]
    out: dict[str, Any] = {
        "rules_opened": opened.height,
        "still_open": int(opened["still_open"].fill_null(False).sum()),
        "groups": sorted(set(opened["group_id"].drop_nulls().to_list())),
        "opened_by": sorted(set(opened["actor"].drop_nulls().to_list()))
        if "actor" in opened.columns
        else [],
        "people": sorted(set(people.drop_nulls().to_list())),
        "failed_attempts": df.height - opened.height,
    }
    if "exposure_seconds" in opened.columns and opened.height:
        out["longest_exposure_seconds"] = opened["exposure_seconds"].max()
    return out


def answers_instance_launches(
    launches: pl.DataFrame, *, expensive_per_hour: float = 1.0
) -> dict[str, Any]:
    """The key facts of :func:`explain_instance_launches`, as plain values.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 10, 9, tzinfo=timezone.utc)
    >>> answers_instance_launches(pl.DataFrame({"event_time": [t], "actor": ["dev"], "count": [2],
    ...     "success": [True], "hourly_usd": [3.06], "estimated_cost_usd": [12.0]}))["top_spender"]
    'dev'
    """
    df = _need(launches, ("event_time", "count", "success"), "answers_instance_launches")
    launched = df.filter(pl.col("success").fill_null(True)).with_columns(
        _person_expr(df).alias("_p")
    )
    cost = (
        pl.col("estimated_cost_usd").fill_null(0)
        if "estimated_cost_usd" in df.columns
        else pl.lit(0.0)
    )
    out: dict[str, Any] = {
        "instances": int(launched["count"].sum() or 0),
        "failed_calls": df.height - launched.height,
        "estimated_cost_usd": round(float(launched.select(cost.sum()).item() or 0.0), 2),
    }
    if launched.height:
        per = (
            launched.group_by("_p")
            .agg(cost.sum().alias("c"))
            .sort(["c", "_p"], descending=[True, False])
        )
        out["top_spender"] = per["_p"][0]
        out["top_spender_cost_usd"] = round(float(per["c"][0]), 2)
    if "hourly_usd" in launched.columns:
        big = launched.filter(pl.col("hourly_usd") >= expensive_per_hour)
        out["large_instances"] = int(big["count"].sum() or 0)
        out["large_instances_by"] = sorted(set(big["_p"].drop_nulls().to_list()))
    return out


def answers_policy_what_if(what_if: pl.DataFrame) -> dict[str, Any]:
    """The key facts of :func:`explain_policy_what_if`, as plain values.

    Examples
    --------
    >>> answers_policy_what_if(pl.DataFrame({"verdict": ["blocked", "allowed"],
    ...     "actor": ["dev", "ops"]}))
    {'blocked_calls': 1, 'blocked_people': ['dev']}
    """
    df = _need(what_if, ("verdict",), "answers_policy_what_if")
    blocked = df.filter(pl.col("verdict") == "blocked")
    people = blocked.select(_person_expr(blocked).alias("p"))["p"]
    return {
        "blocked_calls": blocked.height,
        "blocked_people": sorted(set(people.drop_nulls().to_list())),
    }
