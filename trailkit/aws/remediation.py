"""Guarded remediation: revoke exactly the ingress rule a finding or event points at.

:func:`revoke_open_ingress` is the only function in trailkit (with the Lambda handler you
deploy yourself) that changes an account, and only with ``dry_run=False``. The default dry
run prints the change it would make and asks EC2 (``DryRun=True``) whether the caller would
be allowed to make it.

Examples
--------
>>> import trailkit, trailkit.aws
>>> findings = trailkit.open_ingress(events)  # doctest: +SKIP
>>> trailkit.aws.revoke_open_ingress(findings.row(0, named=True))  # doctest: +SKIP
DRY RUN (no change made) in eu-west-1: sg-0db7d4784c4db8612: would revoke sgr-0abc tcp 22 from 0.0.0.0/0
EC2's own dry run says the call would be allowed. Run again with dry_run=False to revoke.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from trailkit.aws.lambda_remediation import Rule, remediate, rules_from_event, select_open
from trailkit.aws.session import (
    AwsError,
    client,
    denied,
    error_code,
    error_message,
    is_denied,
    region_of,
)
from trailkit.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import boto3

#: fields of an ``open_ingress`` row that :func:`revoke_open_ingress` needs
FINDING_FIELDS = ("group_id", "protocol", "from_port", "to_port", "cidr")


def _finding_dict(finding: Any) -> dict[str, Any]:
    if hasattr(finding, "to_dicts") and hasattr(finding, "height"):  # a polars DataFrame
        if finding.height != 1:
            raise InputError(
                f"revoke_open_ingress takes one finding; this frame has {finding.height} rows. "
                f"Pick one with df.row(i, named=True), or loop: "
                f"[revoke_open_ingress(r) for r in df.iter_rows(named=True)]."
            )
        return finding.to_dicts()[0]
    if isinstance(finding, bytes | str):
        try:
            finding = json.loads(finding)
        except ValueError as exc:
            raise InputError(
                f"revoke_open_ingress got text that is not JSON ({exc}). Pass an open_ingress row "
                f"or an AuthorizeSecurityGroupIngress record."
            ) from exc
    if not isinstance(finding, dict):
        raise InputError(
            f"revoke_open_ingress takes an open_ingress row (dict or 1-row DataFrame) or an "
            f"AuthorizeSecurityGroupIngress record, not {type(finding).__name__}."
        )
    return finding


def _loads(text: Any) -> Any:
    if text is None or isinstance(text, dict | list):
        return text
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def rules_from_finding(finding: Any, *, ports: Iterable[int] | None = None) -> list[Rule]:
    """The rules a finding names: an ``open_ingress`` row, a raw event, or a normalised event row.

    A row names one rule, taken as it is. For an event (raw CloudTrail record, EventBridge
    event or a row of a trailkit events frame) the world-open rules it added are taken, only
    those covering one of ``ports`` when given.

    >>> [r.text() for r in rules_from_finding({"group_id": "sg-1", "rule_id": None,
    ...     "protocol": "tcp", "from_port": 3389, "to_port": 3389, "cidr": "0.0.0.0/0",
    ...     "aws_region": "eu-west-1"})]
    ['tcp 3389 from 0.0.0.0/0']
    """
    row = _finding_dict(finding)
    if "event_name" in row and "request_parameters" in row and "group_id" not in row:
        row = {  # a row of a normalised events frame: rebuild the record parts we need
            "eventName": row.get("event_name"),
            "eventID": row.get("event_id"),
            "awsRegion": row.get("aws_region"),
            "recipientAccountId": row.get("recipient_account_id"),
            "errorCode": row.get("error_code"),
            "requestParameters": _loads(row.get("request_parameters")),
            "responseElements": _loads(row.get("response_elements")),
        }
    if "eventName" in row or isinstance(row.get("detail"), dict):
        try:
            rules = rules_from_event(row)
        except ValueError as exc:
            raise InputError(f"revoke_open_ingress: {exc}.") from exc
        return select_open(rules, tuple(ports) if ports is not None else None)
    if row.get("success") is False:
        return []  # a failed AuthorizeSecurityGroupIngress opened nothing
    missing = [
        f
        for f in FINDING_FIELDS
        if f not in row or (row[f] is None and f != "from_port" and f != "to_port")
    ]
    if missing:
        raise InputError(
            f"revoke_open_ingress: the finding lacks {', '.join(missing)} (it has: "
            f"{', '.join(sorted(row)) or 'nothing'}). Pass a row of trailkit.open_ingress(...) or "
            f"a raw AuthorizeSecurityGroupIngress record."
        )
    return [
        Rule(
            row["group_id"],
            row["protocol"],
            row.get("from_port"),
            row.get("to_port"),
            row["cidr"],
            rule_id=row.get("rule_id") or None,
            region=row.get("aws_region") or row.get("region"),
            account=row.get("recipient_account_id") or row.get("account_id"),
        )
    ]


def revoke_open_ingress(
    finding: Any,
    *,
    dry_run: bool = True,
    session: boto3.Session | None = None,
    region: str | None = None,
    ports: Iterable[int] | None = None,
    verbose: bool = True,
) -> dict[str, Any]:
    """Revoke exactly the offending ingress rule of a finding; dry run unless ``dry_run=False``.

    Parameters
    ----------
    finding
        A row of :func:`trailkit.open_ingress` (dict or 1-row DataFrame with ``group_id``,
        ``rule_id``, ``protocol``, ``from_port``, ``to_port``, ``cidr``, ``aws_region``), or an
        ``AuthorizeSecurityGroupIngress`` event: a raw CloudTrail record (dict or JSON text,
        either request shape), an EventBridge event, or a row of a trailkit events frame. For
        events, the world-open rules (``0.0.0.0/0``, ``::/0``) it added are revoked.
    dry_run
        ``True`` (default): change nothing; print what would be revoked and EC2's own dry-run
        verdict on the permission. ``False``: revoke.
    session
        A ``boto3.Session`` (default: the normal credential chain).
    region
        Region of the group (default: the finding's ``aws_region``, else the session's).
    ports
        For events only: revoke only world-open rules covering one of these ports.
    verbose
        Print a one-line summary of what was done.

    Returns
    -------
    dict
        ``status`` (``would-revoke``, ``revoked``, ``already-absent``, ``group-not-found``,
        ``nothing-to-do``), ``group_id``, ``region``, ``rules`` (what was or would be revoked,
        with their ``rule_id``), ``confirmed`` (a re-read of the group shows them gone),
        ``permission_check`` (dry run), ``changed`` (rules modified since, left alone),
        ``message``.

    Examples
    --------
    >>> revoke_open_ingress({"group_id": "sg-0123", "rule_id": "sgr-0abc", "protocol": "tcp",
    ...     "from_port": 22, "to_port": 22, "cidr": "0.0.0.0/0", "aws_region": "eu-west-1"},
    ...     dry_run=False)  # doctest: +SKIP
    {'status': 'revoked', 'confirmed': True, ...}
    """
    rules = rules_from_finding(finding, ports=ports)
    where = region or next((r.region for r in rules if r.region), None) or region_of(session)
    if not rules:
        result = {
            "status": "nothing-to-do",
            "dry_run": dry_run,
            "group_id": None,
            "region": where,
            "rules": [],
            "changed": [],
            "confirmed": None,
            "permission_check": None,
            "message": "the finding is a failed call: it opened nothing"
            if _finding_dict(finding).get("success") is False
            else "the event added no world-open rule"
            + (f" on ports {', '.join(map(str, ports))}" if ports is not None else ""),
        }
        if verbose:
            print(f"Nothing to revoke: {result['message']}.")
        return result
    groups = {r.group_id or r.group_name for r in rules}
    if len(groups) != 1:
        raise InputError(
            f"revoke_open_ingress: the finding names several groups ({sorted(map(str, groups))}); pass one."
        )
    ec2 = client("ec2", session, region=where)
    try:
        result = remediate(ec2, rules, dry_run=dry_run)
    except Exception as exc:
        gid = rules[0].group_id or rules[0].group_name
        account = rules[0].account or "<account>"
        if is_denied(exc):
            op = getattr(exc, "operation_name", None) or "RevokeSecurityGroupIngress"
            action = f"ec2:{op}"
            raise denied(
                f"remediating {gid} in {where}",
                action,
                f"arn:aws:ec2:{where}:{account}:security-group/{gid}",
                exc,
            ) from exc
        if getattr(exc, "response", None) is not None:
            raise AwsError(
                f"remediating {gid} in {where} failed ({error_code(exc)}: {error_message(exc)})."
            ) from exc
        raise
    result["region"] = where
    if verbose:
        _say(result)
    return result


def _say(result: dict[str, Any]) -> None:
    status = result["status"]
    where = result.get("region")
    if status == "would-revoke":
        verdict = {
            "allowed": "EC2's own dry run says the call would be allowed.",
            "denied": "EC2's own dry run says you may NOT make this call (ec2:RevokeSecurityGroupIngress).",
        }
        print(
            f"DRY RUN (no change made) in {where}: {result['message']}\n"
            f"{verdict.get(result.get('permission_check'), 'EC2 dry run: ' + str(result.get('permission_check')))} "
            f"Run again with dry_run=False to revoke."
        )
    else:
        print(f"{status} in {where}: {result['message']}")
