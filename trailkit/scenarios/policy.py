"""An instance-type guard rail, and what it would have stopped.

:func:`build_instance_type_policy` writes the IAM policy AWS documents in the EC2 user guide
("Instance types" example): deny ``ec2:RunInstances`` on ``arn:aws:ec2:*:*:instance/*`` when
``ec2:InstanceType`` is not one of the allowed types. The Resource must be the instance
resource: the condition key only exists there, and a Deny on ``*`` with ``StringNotEquals``
would also deny the image / subnet / volume sub-authorisations, where the key is absent.

:func:`policy_what_if` replays the loaded ``RunInstances`` calls against that rule.

>>> import json
>>> doc = json.loads(build_instance_type_policy(("t3.micro",)))
>>> doc["Statement"][0]["Condition"]
{'StringNotEquals': {'ec2:InstanceType': ['t3.micro']}}
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import polars as pl

from trailkit.errors import InputError
from trailkit.scenarios.instances import instance_launches

S = pl.String

DEFAULT_ALLOWED: tuple[str, ...] = ("t2.micro", "t3.small")

#: the output columns of :func:`policy_what_if`, in order.
COLUMNS: tuple[str, ...] = (
    "event_time",
    "actor",
    "session_started_by",
    "attribution_chain",
    "attribution_method",
    "instance_type",
    "instance_type_source",
    "count",
    "instance_ids",
    "success",
    "error_code",
    "would_block",
    "verdict",
    "policy_note",
    "invoked_by",
    "aws_region",
    "recipient_account_id",
    "hourly_usd_total",
    "estimated_cost_usd",
    "event_id",
)

_TYPE_PATTERN = re.compile(r"^[A-Za-z0-9.*?-]+$")


def _allowed_list(allowed: Sequence[str] | str, where: str) -> list[str]:
    items = [allowed] if isinstance(allowed, str) else list(allowed)
    bad = [a for a in items if not isinstance(a, str) or not _TYPE_PATTERN.match(a)]
    if not items or bad:
        raise InputError(
            f"{where}: allowed must be a non-empty list of instance types such as "
            f"('t2.micro', 't3.small') or patterns such as 't3.*'; got {allowed!r}"
            + (f" (bad entries: {bad!r})" if bad else "")
        )
    return items


def _uses_wildcards(items: Sequence[str]) -> bool:
    return any("*" in a or "?" in a for a in items)


def build_instance_type_policy(
    allowed: Sequence[str] | str = DEFAULT_ALLOWED,
    *,
    sid: str = "DenyNonApprovedInstanceTypes",
    indent: int | None = 2,
) -> str:
    """The IAM policy (JSON text) that denies launching any instance type not in ``allowed``.

    Parameters
    ----------
    allowed
        Instance types to allow. Wildcards (``t3.*``, ``t?.micro``) switch the condition
        operator from ``StringNotEquals`` to ``StringNotLike``, the operator IAM evaluates
        wildcards with.
    sid
        The statement id.
    indent
        JSON indentation (``None`` for one line).

    Returns
    -------
    str
        A policy document: one ``Deny`` statement for ``ec2:RunInstances`` on
        ``arn:aws:ec2:*:*:instance/*`` with the condition on ``ec2:InstanceType``. Attach it to
        the users/roles (or use it as a service control policy) next to their allow policies.

    Examples
    --------
    >>> print(build_instance_type_policy(indent=None))  # doctest: +NORMALIZE_WHITESPACE
    {"Version": "2012-10-17", "Statement": [{"Sid": "DenyNonApprovedInstanceTypes",
    "Effect": "Deny", "Action": "ec2:RunInstances", "Resource": "arn:aws:ec2:*:*:instance/*",
    "Condition": {"StringNotEquals": {"ec2:InstanceType": ["t2.micro", "t3.small"]}}}]}
    """
    items = _allowed_list(allowed, "build_instance_type_policy")
    operator = "StringNotLike" if _uses_wildcards(items) else "StringNotEquals"
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": sid,
                "Effect": "Deny",
                "Action": "ec2:RunInstances",
                "Resource": "arn:aws:ec2:*:*:instance/*",
                "Condition": {operator: {"ec2:InstanceType": items}},
            }
        ],
    }
    return json.dumps(doc, indent=indent)


def _allowed_regex(items: Sequence[str]) -> str:
    """IAM string / wildcard patterns → one anchored regex (case-sensitive, as IAM compares)."""
    parts = [re.escape(a).replace(r"\*", ".*").replace(r"\?", ".") for a in items]
    return "^(?:" + "|".join(parts) + ")$"


def policy_what_if(
    events: pl.DataFrame,
    allowed: Sequence[str] | str = DEFAULT_ALLOWED,
    *,
    only_blocked: bool = True,
) -> pl.DataFrame:
    """Which past ``RunInstances`` calls the :func:`build_instance_type_policy` policy would block.

    Parameters
    ----------
    events
        Normalised events (with STS events, to name the person behind role sessions).
    allowed
        The allowed instance types (same as for :func:`build_instance_type_policy`).
    only_blocked
        Return only the calls the policy would block (default); ``False`` returns every
        ``RunInstances`` call with its verdict.

    Returns
    -------
    polars.DataFrame
        One row per ``RunInstances`` call, sorted by ``event_time``; columns :data:`COLUMNS`:
        who (``actor``, ``session_started_by``, ``attribution_chain``,
        ``attribution_method``), ``instance_type`` / ``instance_type_source``, ``count``
        (instances launched, or requested for a failed call), ``instance_ids``, ``success``,
        ``error_code``, ``would_block`` (null when the type is unknown), ``verdict``
        (``blocked`` | ``allowed`` | ``unknown``), ``policy_note`` (launches made by an AWS
        service through a service-linked role, which neither identity policies nor SCPs
        govern; dry runs; calls that already failed), ``invoked_by``, ``aws_region``, ``recipient_account_id``,
        ``hourly_usd_total``, ``estimated_cost_usd``, ``event_id``.

    Examples
    --------
    >>> import trailkit
    >>> ev = trailkit.normalize_records([{"eventTime": "2026-03-10T09:00:00Z", "eventID": "r1",
    ...   "eventName": "RunInstances", "userIdentity": {"type": "IAMUser", "userName": "dev"},
    ...   "requestParameters": {"instanceType": "p3.2xlarge",
    ...                         "instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]}},
    ...   "responseElements": {"instancesSet": {"items": [{"instanceId": "i-1"}]}}}])
    >>> policy_what_if(ev).select("actor", "instance_type", "verdict").row(0)
    ('dev', 'p3.2xlarge', 'blocked')
    """
    items = _allowed_list(allowed, "policy_what_if")
    launches = instance_launches(events)
    calls = launches.group_by("event_id", maintain_order=True).agg(
        pl.col("event_time").first(),
        pl.col("actor").first(),
        pl.col("session_started_by").first(),
        pl.col("attribution_chain").first(),
        pl.col("attribution_method").first(),
        pl.col("instance_type").drop_nulls().first(),
        pl.col("instance_type_source").first(),
        pl.col("count").sum(),
        pl.col("instance_id").drop_nulls().alias("instance_ids"),
        pl.col("success").first(),
        pl.col("error_code").first(),
        pl.col("invoked_by").first(),
        pl.col("aws_region").first(),
        pl.col("recipient_account_id").first(),
        _sum_or_null("hourly_usd_total"),
        _sum_or_null("estimated_cost_usd"),
    )
    known = pl.col("instance_type").is_not_null()
    allowed_type = pl.col("instance_type").str.contains(_allowed_regex(items))
    would_block = pl.when(known).then(~allowed_type)
    verdict = (
        pl.when(~known)
        .then(pl.lit("unknown"))
        .when(~allowed_type)
        .then(pl.lit("blocked"))
        .otherwise(pl.lit("allowed"))
    )
    note = pl.concat_str(
        pl.when(pl.col("actor").str.starts_with("AWSServiceRoleFor")).then(
            pl.concat_str(
                pl.lit("launched by "),
                pl.coalesce(pl.col("invoked_by"), pl.col("actor")),
                pl.lit(
                    " through a service role: identity policies on people and SCPs do not apply to "
                    "service-linked roles; control who may create or change the group / launch template"
                ),
            )
        ),
        pl.when(~known).then(
            pl.lit(
                "instance type not in the event (launch template); "
                "the policy evaluates the effective type"
            )
        ),
        pl.when(pl.col("error_code") == "Client.DryRunOperation")
        .then(pl.lit("dry run: the call would have succeeded"))
        .when(~pl.col("success").fill_null(True))
        .then(
            pl.concat_str(
                pl.lit("call already failed ("),
                pl.col("error_code").fill_null("error"),
                pl.lit(")"),
            )
        ),
        separator="; ",
        ignore_nulls=True,
    )
    out = calls.with_columns(
        would_block.alias("would_block"),
        verdict.alias("verdict"),
        pl.when(note.str.len_chars() > 0).then(note).alias("policy_note"),
    ).select(COLUMNS)
    if only_blocked:
        out = out.filter(pl.col("would_block").fill_null(False))
    return out.sort("event_time", "event_id", nulls_last=True)


def _sum_or_null(column: str) -> pl.Expr:
    """Sum in an aggregation, null (not 0) when every value is null."""
    c = pl.col(column)
    return pl.when(c.is_not_null().any()).then(c.sum()).otherwise(None).alias(column)
