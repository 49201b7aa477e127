"""Revoke world-open SSH/RDP ingress rules as soon as CloudTrail reports them (EventBridge → Lambda).

This module is also the remediation core used by :func:`trailkit.aws.revoke_open_ingress`.
It imports nothing but the standard library and boto3, so it can be deployed on its own:
zip this one file, create a Python Lambda function with handler
``lambda_remediation.lambda_handler``, give its role :func:`lambda_policy`, and point an
EventBridge rule with :data:`EVENT_PATTERN` at it (CloudTrail → EventBridge → Lambda; a trail
must be logging management events in that region). ``docs/aws.md`` has the CLI steps.

Environment variables of the function:

* ``PORTS`` — comma-separated ports whose world-open rules are revoked (default ``22,3389``).
* ``DRY_RUN`` — ``true`` to only log what would be revoked (default ``false``).
* ``TRAILKIT_AWS_ENDPOINT_URL`` — send EC2 calls to another endpoint (tests only).

What it does, for one ``AuthorizeSecurityGroupIngress`` event: read the rules the call added
(both request shapes: ``ipPermissions.items[]`` and the flat ``cidrIp``/``fromPort``/``toPort``
form; rule ids from ``responseElements.securityGroupRuleSet``), keep those open to the world
(``0.0.0.0/0``, ``::/0``) that cover one of ``PORTS`` (protocol ``-1`` covers every port),
find them in the group as it is now (by security-group rule id, else by the exact
permission), revoke exactly those, and re-read the group to confirm. Running it twice changes
nothing the second time.

Examples
--------
>>> from trailkit.aws.lambda_remediation import EVENT_PATTERN, Rule
>>> EVENT_PATTERN["detail"]["eventName"]
['AuthorizeSecurityGroupIngress']
>>> Rule("sg-1", "tcp", 0, 65535, "0.0.0.0/0").covers(22)
True
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import asdict, dataclass, replace
from typing import Any

#: ports whose world-open rules the Lambda revokes by default (SSH, RDP)
REMOTE_ADMIN_PORTS = (22, 3389)

#: EventBridge rule pattern: successful AuthorizeSecurityGroupIngress calls recorded by CloudTrail
EVENT_PATTERN: dict[str, Any] = {
    "source": ["aws.ec2"],
    "detail-type": ["AWS API Call via CloudTrail"],
    "detail": {
        "eventSource": ["ec2.amazonaws.com"],
        "eventName": ["AuthorizeSecurityGroupIngress"],
        "errorCode": [{"exists": False}],
    },
}

_PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1", "-1": "-1"}


def lambda_policy(
    account_id: str = "<ACCOUNT_ID>",
    function_name: str = "trailkit-revoke-open-ingress",
    region: str = "*",
) -> dict[str, Any]:
    """The least-privilege IAM policy for the Lambda's execution role.

    Describe calls cannot be scoped to resources; revoking is limited to security groups of
    the account; logging only to the function's own log group.

    >>> [s["Sid"] for s in lambda_policy("111122223333")["Statement"]]
    ['ReadSecurityGroups', 'RevokeIngressOnly', 'WriteOwnLogs']
    """
    log_group = f"arn:aws:logs:{region}:{account_id}:log-group:/aws/lambda/{function_name}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadSecurityGroups",
                "Effect": "Allow",
                "Action": ["ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules"],
                "Resource": "*",
            },
            {
                "Sid": "RevokeIngressOnly",
                "Effect": "Allow",
                "Action": "ec2:RevokeSecurityGroupIngress",
                "Resource": f"arn:aws:ec2:{region}:{account_id}:security-group/*",
            },
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [log_group, f"{log_group}:*"],
            },
        ],
    }


def normalise_protocol(value: Any) -> str:
    """EC2 protocol as EC2 reports it: ``tcp``, ``udp``, ``icmp``, ``icmpv6``, ``-1`` or a number.

    >>> normalise_protocol(6), normalise_protocol("ALL"), normalise_protocol("TCP")
    ('tcp', '-1', 'tcp')
    """
    text = str(value).strip().lower()
    return _PROTOCOLS.get(text, text)


def canonical_cidr(value: str) -> str:
    """The network of a CIDR, as EC2 stores it (``10.1.2.3/8`` → ``10.0.0.0/8``).

    >>> canonical_cidr("208.236.235.254/0"), canonical_cidr("::/0")
    ('0.0.0.0/0', '::/0')
    """
    try:
        return str(ipaddress.ip_network(str(value).strip(), strict=False))
    except ValueError:
        return str(value).strip()


def _port(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Rule:
    """One ingress rule: a protocol, a port range and one CIDR, in one security group."""

    group_id: str | None
    protocol: str
    from_port: int | None
    to_port: int | None
    cidr: str
    rule_id: str | None = None
    region: str | None = None
    account: str | None = None
    group_name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "protocol", normalise_protocol(self.protocol))
        object.__setattr__(self, "cidr", canonical_cidr(self.cidr))
        object.__setattr__(self, "from_port", _port(self.from_port))
        object.__setattr__(self, "to_port", _port(self.to_port))

    @property
    def world_open(self) -> bool:
        """True for ``0.0.0.0/0`` and ``::/0``."""
        return self.cidr in ("0.0.0.0/0", "::/0")

    def covers(self, port: int) -> bool:
        """True when the rule lets TCP/UDP traffic to ``port`` in (protocol ``-1`` = all)."""
        if self.protocol == "-1":
            return True
        if self.protocol not in ("tcp", "udp"):
            return False
        lo = self.from_port if self.from_port is not None else 0
        hi = self.to_port if self.to_port is not None else 65535
        if lo == -1 and hi == -1:  # all ports
            return True
        return lo <= port <= hi

    def same_as(self, current: dict[str, Any]) -> bool:
        """True when ``current`` (a ``DescribeSecurityGroupRules`` item) is this rule."""
        if current.get("IsEgress"):
            return False
        if normalise_protocol(current.get("IpProtocol")) != self.protocol:
            return False
        if self.protocol not in ("-1",) and (
            _port(current.get("FromPort")) != self.from_port
            or _port(current.get("ToPort")) != self.to_port
        ):
            return False
        cidr = current.get("CidrIpv4") or current.get("CidrIpv6")
        return cidr is not None and canonical_cidr(cidr) == self.cidr

    def permission(self) -> dict[str, Any]:
        """The ``IpPermissions`` entry that names exactly this rule."""
        perm: dict[str, Any] = {"IpProtocol": self.protocol}
        if self.protocol != "-1":
            if self.from_port is not None:
                perm["FromPort"] = self.from_port
            if self.to_port is not None:
                perm["ToPort"] = self.to_port
        if ":" in self.cidr:
            perm["Ipv6Ranges"] = [{"CidrIpv6": self.cidr}]
        else:
            perm["IpRanges"] = [{"CidrIp": self.cidr}]
        return perm

    def text(self) -> str:
        """Readable form: ``tcp 22 from 0.0.0.0/0``."""
        if self.protocol == "-1":
            ports = "all traffic"
        elif self.from_port == self.to_port:
            ports = f"{self.protocol} {self.from_port}"
        else:
            ports = f"{self.protocol} {self.from_port}-{self.to_port}"
        rid = f"{self.rule_id} " if self.rule_id else ""
        return f"{rid}{ports} from {self.cidr}"


def _items(value: Any) -> list[Any]:
    """EC2's XML-derived JSON: ``{"items": [...]}`` or ``{}``; also accept a plain list."""
    if isinstance(value, dict):
        items = value.get("items", [])
        return items if isinstance(items, list) else [items]
    if isinstance(value, list):
        return value
    return []


def record_of(event: Any) -> dict[str, Any]:
    """The CloudTrail record of an EventBridge envelope, a JSON string or a record.

    >>> record_of('{"detail": {"eventName": "X"}, "detail-type": "AWS API Call via CloudTrail"}')
    {'eventName': 'X'}
    """
    if isinstance(event, bytes | str):
        event = json.loads(event)
    if not isinstance(event, dict):
        raise ValueError(
            f"expected a CloudTrail record or EventBridge event (a dict), got {type(event).__name__}"
        )
    detail = event.get("detail")
    if isinstance(detail, dict) and ("eventName" in detail or "detail-type" in event):
        return detail
    return event


def rules_from_event(event: Any) -> list[Rule]:
    """Every CIDR rule that an ``AuthorizeSecurityGroupIngress`` record (or EventBridge event) added.

    Raises ``ValueError`` for other events and for calls that failed.

    >>> rec = {"eventName": "AuthorizeSecurityGroupIngress", "awsRegion": "eu-west-1",
    ...        "requestParameters": {"groupId": "sg-1", "ipProtocol": "tcp", "fromPort": 22,
    ...                              "toPort": 22, "cidrIp": "0.0.0.0/0"}}
    >>> [r.text() for r in rules_from_event(rec)]
    ['tcp 22 from 0.0.0.0/0']
    """
    rec = record_of(event)
    name = rec.get("eventName")
    if name != "AuthorizeSecurityGroupIngress":
        raise ValueError(
            f"eventName is {name!r}, not AuthorizeSecurityGroupIngress: nothing to revoke"
        )
    if rec.get("errorCode"):
        raise ValueError(
            f"the AuthorizeSecurityGroupIngress call failed ({rec.get('errorCode')}), so it opened nothing"
        )
    rp = rec.get("requestParameters") or {}
    resp = rec.get("responseElements") or {}
    region = rec.get("awsRegion")
    account = rec.get("recipientAccountId") or (rec.get("userIdentity") or {}).get("accountId")
    gid = rp.get("groupId")
    gname = rp.get("groupName")
    common = {"region": region, "account": account, "group_name": gname}
    rules: list[Rule] = []
    for perm in _items(rp.get("ipPermissions")):
        proto, lo, hi = perm.get("ipProtocol"), perm.get("fromPort"), perm.get("toPort")
        for rng in _items(perm.get("ipRanges")):
            if rng.get("cidrIp"):
                rules.append(Rule(gid, proto, lo, hi, rng["cidrIp"], **common))
        for rng in _items(perm.get("ipv6Ranges")):
            if rng.get("cidrIpv6"):
                rules.append(Rule(gid, proto, lo, hi, rng["cidrIpv6"], **common))
    for key in ("cidrIp", "cidrIpv6"):
        if rp.get(key):
            rules.append(
                Rule(
                    gid,
                    rp.get("ipProtocol", "-1"),
                    rp.get("fromPort"),
                    rp.get("toPort"),
                    rp[key],
                    **common,
                )
            )
    # rule ids from the response (newer events)
    for item in _items(resp.get("securityGroupRuleSet")):
        if item.get("isEgress") or not (item.get("cidrIpv4") or item.get("cidrIpv6")):
            continue
        answer = Rule(
            item.get("groupId") or gid,
            item.get("ipProtocol", "-1"),
            item.get("fromPort"),
            item.get("toPort"),
            item.get("cidrIpv4") or item.get("cidrIpv6"),
            rule_id=item.get("securityGroupRuleId"),
            **common,
        )
        for i, r in enumerate(rules):
            if r.rule_id is None and _same_rule(r, answer):
                rules[i] = replace(
                    r, rule_id=answer.rule_id, group_id=r.group_id or answer.group_id
                )
                break
        else:
            rules.append(answer)
    return rules


def _same_rule(a: Rule, b: Rule) -> bool:
    ports = a.protocol == "-1" or (a.from_port, a.to_port) == (b.from_port, b.to_port)
    return a.protocol == b.protocol and ports and a.cidr == b.cidr


def select_open(
    rules: list[Rule], ports: tuple[int, ...] | list[int] | None = REMOTE_ADMIN_PORTS
) -> list[Rule]:
    """The world-open rules that cover one of ``ports`` (``None``: any port).

    >>> rules = [Rule("sg-1", "tcp", 443, 443, "0.0.0.0/0"), Rule("sg-1", "tcp", 22, 22, "::/0"),
    ...          Rule("sg-1", "tcp", 22, 22, "10.0.0.0/8")]
    >>> [r.text() for r in select_open(rules)]
    ['tcp 22 from ::/0']
    """
    out = [r for r in rules if r.world_open]
    if ports is not None:
        out = [r for r in out if any(r.covers(p) for p in ports)]
    return out


class GroupNotFound(LookupError):
    """The security group no longer exists."""


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", "") or "")
    return ""


def _resolve_group(ec2, rule: Rule) -> str:
    if rule.group_id:
        return rule.group_id
    if rule.group_name:
        try:
            groups = ec2.describe_security_groups(GroupNames=[rule.group_name])["SecurityGroups"]
        except Exception as exc:
            if _error_code(exc).startswith("InvalidGroup"):
                raise GroupNotFound(rule.group_name) from exc
            raise
        if groups:
            return groups[0]["GroupId"]
        raise GroupNotFound(rule.group_name)
    raise ValueError("the rule names no security group (no groupId or groupName)")


def current_rules(ec2, group_id: str) -> list[dict[str, Any]]:
    """The ingress rules of a group now, as ``DescribeSecurityGroupRules`` items.

    Falls back to ``DescribeSecurityGroups`` (items without ``SecurityGroupRuleId``) when the
    caller may not call ``DescribeSecurityGroupRules``. Raises :class:`GroupNotFound`.
    """
    try:
        groups = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    except Exception as exc:
        if _error_code(exc).startswith("InvalidGroup"):
            raise GroupNotFound(group_id) from exc
        raise
    if not groups:
        raise GroupNotFound(group_id)
    try:
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"Filters": [{"Name": "group-id", "Values": [group_id]}]}
        while True:
            page = ec2.describe_security_group_rules(**kwargs)
            out += [r for r in page.get("SecurityGroupRules", []) if not r.get("IsEgress")]
            token = page.get("NextToken")
            if not token:
                return out
            kwargs["NextToken"] = token
    except Exception as exc:
        if "Unauthorized" not in _error_code(exc) and "AccessDenied" not in _error_code(exc):
            raise
    flat: list[dict[str, Any]] = []
    for perm in groups[0].get("IpPermissions", []):
        base = {k: perm.get(k) for k in ("IpProtocol", "FromPort", "ToPort")}
        base.update(GroupId=group_id, IsEgress=False)
        flat += [{**base, "CidrIpv4": r["CidrIp"]} for r in perm.get("IpRanges", [])]
        flat += [{**base, "CidrIpv6": r["CidrIpv6"]} for r in perm.get("Ipv6Ranges", [])]
    return flat


def remediate(ec2, rules: list[Rule], *, dry_run: bool = True) -> dict[str, Any]:
    """Revoke exactly ``rules`` (all in one group) if they are still there; confirm; report.

    Returns a JSON-serialisable dict: ``status`` is ``"would-revoke"`` (dry run),
    ``"revoked"``, ``"already-absent"``, ``"group-not-found"`` or ``"nothing-to-do"``;
    ``rules`` lists what was (or would be) revoked, ``changed`` the rules whose id still
    exists but whose content differs (left alone), ``confirmed`` whether a re-read shows
    them gone, ``permission_check`` the result of EC2's own dry run (``"allowed"`` or
    ``"denied"``) when ``dry_run`` is true.
    """
    out: dict[str, Any] = {
        "status": "nothing-to-do",
        "dry_run": dry_run,
        "group_id": None,
        "region": getattr(getattr(ec2, "meta", None), "region_name", None),
        "rules": [],
        "changed": [],
        "confirmed": None,
        "permission_check": None,
        "message": "",
    }
    if not rules:
        out["message"] = "no rule to revoke"
        return out
    try:
        group_id = _resolve_group(ec2, rules[0])
        out["group_id"] = group_id
        now = current_rules(ec2, group_id)
    except GroupNotFound as exc:
        out.update(
            status="group-not-found",
            group_id=rules[0].group_id or rules[0].group_name,
            message=f"security group {exc} does not exist any more: nothing is open",
        )
        return out
    by_id = {r.get("SecurityGroupRuleId"): r for r in now if r.get("SecurityGroupRuleId")}
    targets: list[tuple[Rule, dict[str, Any]]] = []
    for rule in rules:
        hit = by_id.get(rule.rule_id) if rule.rule_id else None
        if hit is not None and not rule.same_as(hit):
            out["changed"].append(rule.text())
            continue
        if hit is None:
            hit = next((c for c in now if rule.same_as(c)), None)
        if hit is not None and all(hit is not t for _r, t in targets):
            targets.append(
                (replace(rule, rule_id=hit.get("SecurityGroupRuleId"), group_id=group_id), hit)
            )
    out["rules"] = [_rule_dict(r) for r, _c in targets]
    if not targets:
        out.update(
            status="already-absent",
            confirmed=True,
            message=f"{group_id}: none of the rules is there any more; nothing changed",
        )
        if out["changed"]:
            out["message"] += f" (rules modified since, left alone: {'; '.join(out['changed'])})"
        return out
    ids = [r.rule_id for r, _c in targets if r.rule_id]
    perms = [r.permission() for r, _c in targets if not r.rule_id]
    listing = "; ".join(r.text() for r, _c in targets)
    if dry_run:
        out["status"] = "would-revoke"
        out["permission_check"] = _dry_run_check(ec2, group_id, ids, perms)
        out["message"] = f"{group_id}: would revoke {listing}"
        return out
    _revoke(ec2, group_id, ids, perms)
    after = current_rules(ec2, group_id)
    left = [r for r, _c in targets if any(r.same_as(c) for c in after)]
    out.update(
        status="revoked",
        confirmed=not left,
        message=f"{group_id}: revoked {listing}"
        + (
            "; re-read confirms they are gone"
            if not left
            else f"; STILL PRESENT: {'; '.join(r.text() for r in left)}"
        ),
    )
    return out


def _rule_dict(rule: Rule) -> dict[str, Any]:
    d = asdict(rule)
    d["text"] = rule.text()
    return d


def _dry_run_check(ec2, group_id: str, ids: list[str], perms: list[dict[str, Any]]) -> str:
    try:
        if ids:
            ec2.revoke_security_group_ingress(
                GroupId=group_id, SecurityGroupRuleIds=ids, DryRun=True
            )
        else:
            ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=perms, DryRun=True)
    except Exception as exc:
        code = _error_code(exc)
        if code == "DryRunOperation":
            return "allowed"
        if "Unauthorized" in code or "AccessDenied" in code:
            return "denied"
        return f"unknown ({code or type(exc).__name__})"
    return "allowed"


def _revoke(ec2, group_id: str, ids: list[str], perms: list[dict[str, Any]]) -> None:
    for kwargs in ([{"SecurityGroupRuleIds": ids}] if ids else []) + (
        [{"IpPermissions": perms}] if perms else []
    ):
        try:
            ec2.revoke_security_group_ingress(GroupId=group_id, **kwargs)
        except Exception as exc:
            # gone in the meantime (someone else revoked it): the re-read decides
            if _error_code(exc) not in (
                "InvalidPermission.NotFound",
                "InvalidSecurityGroupRuleId.NotFound",
            ):
                raise


def _env_ports() -> tuple[int, ...]:
    text = os.environ.get("PORTS", "")
    if not text.strip():
        return REMOTE_ADMIN_PORTS
    return tuple(int(p) for p in text.replace(" ", "").split(",") if p)


def lambda_handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """EventBridge → Lambda entry point: revoke the world-open SSH/RDP rules an event added.

    ``event`` is an EventBridge "AWS API Call via CloudTrail" event for
    ``AuthorizeSecurityGroupIngress``. Returns (and logs as one JSON line) what was done; an
    event that opened nothing on ``PORTS`` is answered with ``status: "ignored"``.
    """
    import boto3

    try:
        rules = rules_from_event(event)
    except ValueError as exc:
        result: dict[str, Any] = {"status": "ignored", "reason": str(exc)}
        print(json.dumps(result))  # one JSON line in CloudWatch Logs
        return result
    ports = _env_ports()
    offending = select_open(rules, ports)
    rec = record_of(event)
    if not offending:
        result = {
            "status": "ignored",
            "reason": f"no world-open rule on ports {', '.join(map(str, ports))}",
            "group_id": (rec.get("requestParameters") or {}).get("groupId"),
            "event_id": rec.get("eventID"),
        }
        print(json.dumps(result))
        return result
    region = rec.get("awsRegion") or event.get("region") or os.environ.get("AWS_REGION")
    endpoint = os.environ.get("TRAILKIT_AWS_ENDPOINT_URL") or None
    # a fresh session per invocation picks up the role's current credentials from the environment
    ec2 = boto3.session.Session().client("ec2", region_name=region, endpoint_url=endpoint)
    dry_run = os.environ.get("DRY_RUN", "false").strip().lower() in ("1", "true", "yes")
    result = remediate(ec2, offending, dry_run=dry_run)
    result["event_id"] = rec.get("eventID")
    result["actor"] = (rec.get("userIdentity") or {}).get("arn")
    print(json.dumps(result, default=str))
    return result
