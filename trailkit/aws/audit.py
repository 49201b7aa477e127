"""Is my trail set up right? The CloudTrail best practices, checked read-only, with the exact fix.

:func:`audit_trails` answers one row per check and trail:

1. a multi-region trail exists and is logging, with management events read and write;
2. logs go to one central S3 bucket (with a hint when the bucket lives in this account);
3. that bucket is locked down: public access blocked, no policy granting ``*``, versioning
   with MFA delete or Object Lock;
4. log file integrity validation is enabled;
5. the trail sends to CloudWatch Logs, with a metric filter and an alarm for root activity;

plus KMS encryption of the log files and whether an organization trail covers the member
accounts. Every call is a read (``Describe*``, ``Get*``, ``List*``); nothing is changed.

Examples
--------
>>> import trailkit.aws
>>> report = trailkit.aws.audit_trails()  # doctest: +SKIP
>>> report.filter(pl.col("status") == "fail").select("check", "trail", "fix")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trailkit.aws.session import (
    AwsError,
    client,
    error_code,
    error_message,
    get_session,
    is_denied,
    region_of,
    uses_custom_endpoint,
)

if TYPE_CHECKING:  # pragma: no cover
    import boto3
    import polars as pl

#: check id -> (short name, what it asks)
CHECKS: dict[str, tuple[str, str]] = {
    "1": (
        "multi_region_logging",
        "A multi-region trail is logging management events (read and write)",
    ),
    "2": ("central_bucket", "Logs go to one central S3 bucket"),
    "3": (
        "bucket_locked_down",
        "The log bucket is locked down (public access blocked, no '*' policy, MFA delete or Object Lock)",
    ),
    "4": ("log_file_validation", "Log file integrity validation is enabled"),
    "5": (
        "cloudwatch_logs",
        "Events go to CloudWatch Logs, with a root-activity metric filter and alarm",
    ),
    "kms": ("kms_encryption", "Log files are encrypted with a KMS key (SSE-KMS)"),
    "org": ("organization_trail", "An organization trail covers the member accounts"),
}

#: status -> passed (None: could not be decided)
_PASSED = {"pass": True, "warn": True, "fail": False, "error": None, "n/a": None}

#: what the audit recommends for root activity: CIS / Security Hub CloudWatch.1 (AWS-authored)
ROOT_FILTER_PATTERN = (
    '{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS '
    '&& $.eventType !="AwsServiceEvent"}'
)

# a root console sign-in: a metric filter "covers root sign-in" when its pattern matches this
_ROOT_SIGN_IN = {
    "eventVersion": "1.08",
    "userIdentity": {
        "type": "Root",
        "principalId": "111122223333",
        "arn": "arn:aws:iam::111122223333:root",
        "accountId": "111122223333",
    },
    "eventTime": "2026-01-01T00:00:00Z",
    "eventSource": "signin.amazonaws.com",
    "eventName": "ConsoleLogin",
    "awsRegion": "us-east-1",
    "sourceIPAddress": "203.0.113.10",
    "userAgent": "Mozilla/5.0",
    "requestParameters": None,
    "responseElements": {"ConsoleLogin": "Success"},
    "additionalEventData": {
        "LoginTo": "https://console.aws.amazon.com/",
        "MobileVersion": "No",
        "MFAUsed": "No",
    },
    "eventID": "00000000-0000-0000-0000-000000000000",
    "eventType": "AwsConsoleSignIn",
    "recipientAccountId": "111122223333",
}


def _columns() -> dict[str, Any]:
    import polars as pl

    return {
        "check_id": pl.String,
        "check": pl.String,
        "title": pl.String,
        "trail": pl.String,
        "trail_arn": pl.String,
        "home_region": pl.String,
        "s3_bucket": pl.String,
        "status": pl.String,
        "passed": pl.Boolean,
        "evidence": pl.String,
        "fix": pl.String,
    }


@dataclass
class _Row:
    check_id: str
    trail: dict[str, Any] | None
    status: str
    evidence: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        name, title = CHECKS[self.check_id]
        t = self.trail or {}
        return {
            "check_id": self.check_id,
            "check": name,
            "title": title,
            "trail": t.get("Name"),
            "trail_arn": t.get("TrailARN"),
            "home_region": t.get("HomeRegion"),
            "s3_bucket": t.get("S3BucketName"),
            "status": self.status,
            "passed": _PASSED[self.status],
            "evidence": self.evidence,
            "fix": self.fix,
        }


@dataclass
class _Ctx:
    session: Any
    account: str | None
    region: str
    my_buckets: set[str] | None = None
    buckets: dict[str, dict[str, Any]] = field(default_factory=dict)


def _q(value: str) -> str:
    return shlex.quote(value)


def _cli(trail: dict[str, Any], *args: str) -> str:
    return " ".join(["aws cloudtrail", *args, "--region", trail.get("HomeRegion") or "<region>"])


# -------------------------------------------------------------------------------------------
# reading the account


def _caller_account(session) -> str | None:
    try:
        return client("sts", session).get_caller_identity()["Account"]
    except Exception:
        return None


def _trails(session, region: str) -> list[dict[str, Any]]:
    ct = client("cloudtrail", session, region=region)
    try:
        found = ct.describe_trails(includeShadowTrails=True).get("trailList", [])
    except Exception as exc:
        if is_denied(exc):
            raise AwsError(
                f"cannot list trails in {region}: {error_code(exc)}. The audit needs "
                f"cloudtrail:DescribeTrails, cloudtrail:ListTrails, cloudtrail:GetTrailStatus and "
                f"cloudtrail:GetEventSelectors (see docs/aws.md for the read-only policy)."
            ) from exc
        raise
    by_arn = {t["TrailARN"]: t for t in found}
    try:  # ListTrails also sees single-region trails of other regions
        pages = ct.get_paginator("list_trails").paginate()
        others = [t for p in pages for t in p.get("Trails", []) if t["TrailARN"] not in by_arn]
    except Exception:
        others = []
    for short in others:
        try:
            other = client("cloudtrail", session, region=short["HomeRegion"])
            by_arn[short["TrailARN"]] = other.get_trail(Name=short["TrailARN"])["Trail"]
        except Exception:  # noqa: S112 - a trail we cannot read is still reported below
            by_arn[short["TrailARN"]] = {
                "Name": short.get("Name"),
                "TrailARN": short["TrailARN"],
                "HomeRegion": short.get("HomeRegion"),
            }
    return sorted(by_arn.values(), key=lambda t: (t.get("HomeRegion") or "", t.get("Name") or ""))


def _management_events(selectors: dict[str, Any]) -> tuple[bool, bool, str]:
    basic = selectors.get("EventSelectors") or []
    advanced = selectors.get("AdvancedEventSelectors") or []
    if not basic and not advanced:
        return True, True, "management events: read+write (no selectors set: CloudTrail's default)"
    read = write = False
    for s in basic:
        if s.get("IncludeManagementEvents", True):
            rw = s.get("ReadWriteType", "All")
            read |= rw in ("All", "ReadOnly")
            write |= rw in ("All", "WriteOnly")
    for a in advanced:
        fields = {f.get("Field"): f for f in a.get("FieldSelectors", [])}
        cat = fields.get("eventCategory", {})
        if "Management" not in (cat.get("Equals") or []):
            continue
        ro = [str(v).lower() for v in (fields.get("readOnly", {}).get("Equals") or [])]
        read |= not ro or "true" in ro
        write |= not ro or "false" in ro
    both = {(True, True): "read+write", (True, False): "read only", (False, True): "write only"}
    return read, write, f"management events: {both.get((read, write), 'not logged')}"


# -------------------------------------------------------------------------------------------
# the checks


def _check_logging(
    trail: dict[str, Any], status: dict[str, Any] | None, selectors: dict[str, Any] | None
) -> _Row:
    name = trail.get("Name") or trail["TrailARN"]
    multi = bool(trail.get("IsMultiRegionTrail"))
    logging = bool(status and status.get("IsLogging"))
    parts = [f"IsMultiRegionTrail={multi}", f"IsLogging={logging if status else 'unknown'}"]
    read = write = True
    if selectors is not None:
        read, write, text = _management_events(selectors)
        parts.append(text)
    else:
        parts.append("event selectors: unknown (cloudtrail:GetEventSelectors denied)")
    if not trail.get("IncludeGlobalServiceEvents", True):
        parts.append("IncludeGlobalServiceEvents=False (IAM, STS and sign-in events are missed)")
    fixes = []
    if not multi:
        fixes.append(
            _cli(
                trail,
                "update-trail",
                "--name",
                _q(name),
                "--is-multi-region-trail",
                "--include-global-service-events",
            )
        )
    if status is not None and not logging:
        fixes.append(_cli(trail, "start-logging", "--name", _q(name)))
    if not (read and write):
        fixes.append(
            _cli(
                trail,
                "put-event-selectors",
                "--trail-name",
                _q(name),
                "--event-selectors",
                _q('[{"ReadWriteType":"All","IncludeManagementEvents":true}]'),
            )
        )
    if not trail.get("IncludeGlobalServiceEvents", True) and multi:
        fixes.append(
            _cli(trail, "update-trail", "--name", _q(name), "--include-global-service-events")
        )
    if status is None or selectors is None:
        state = "error" if not fixes else "fail"
    else:
        state = "fail" if fixes else "pass"
    return _Row("1", trail, state, "; ".join(parts), "\n".join(fixes))


def _bucket_facts(ctx: _Ctx, bucket: str) -> dict[str, Any]:
    if bucket in ctx.buckets:
        return ctx.buckets[bucket]
    s3 = client("s3", ctx.session)
    facts: dict[str, Any] = {"name": bucket}

    def read(key: str, call, *args, **kwargs):
        try:
            facts[key] = call(*args, **kwargs)
        except Exception as exc:
            facts[key] = exc

    read("head", s3.head_bucket, Bucket=bucket)
    read("pab", s3.get_public_access_block, Bucket=bucket)
    read("policy", s3.get_bucket_policy, Bucket=bucket)
    read("versioning", s3.get_bucket_versioning, Bucket=bucket)
    read("lock", s3.get_object_lock_configuration, Bucket=bucket)
    facts["account_pab"] = None
    if ctx.account and not uses_custom_endpoint(ctx.session):
        try:
            ctl = client("s3control", ctx.session)
            facts["account_pab"] = ctl.get_public_access_block(AccountId=ctx.account)
        except Exception as exc:
            facts["account_pab"] = exc
    ctx.buckets[bucket] = facts
    return facts


def _missing(value: Any) -> bool:
    code = error_code(value) if isinstance(value, Exception) else ""
    return code in ("404", "NoSuchBucket", "NotFound")


def _my_buckets(ctx: _Ctx) -> set[str] | None:
    if ctx.my_buckets is None:
        try:
            resp = client("s3", ctx.session).list_buckets()
            ctx.my_buckets = {b["Name"] for b in resp.get("Buckets", [])}
        except Exception:
            ctx.my_buckets = set()
            return None
    return ctx.my_buckets


def _check_central(ctx: _Ctx, trail: dict[str, Any], all_buckets: set[str]) -> _Row:
    bucket = trail.get("S3BucketName")
    name = trail.get("Name") or trail["TrailARN"]
    if not bucket:
        return _Row(
            "2",
            trail,
            "fail",
            "the trail names no S3 bucket",
            _cli(
                trail,
                "update-trail",
                "--name",
                _q(name),
                "--s3-bucket-name",
                "<central-log-bucket>",
            ),
        )
    facts = _bucket_facts(ctx, bucket)
    prefix = trail.get("S3KeyPrefix")
    where = f"s3://{bucket}/{prefix + '/' if prefix else ''}AWSLogs/"
    if _missing(facts["head"]):
        return _Row(
            "2",
            trail,
            "fail",
            f"delivers to {where}, but bucket {bucket} does not exist: no logs are being stored",
            _cli(
                trail,
                "update-trail",
                "--name",
                _q(name),
                "--s3-bucket-name",
                "<central-log-bucket>",
            ),
        )
    notes = [f"delivers to {where}"]
    state = "pass"
    if len(all_buckets) > 1:
        state = "warn"
        notes.append(
            f"the account's trails deliver to {len(all_buckets)} buckets "
            f"({', '.join(sorted(all_buckets))}); keep one central bucket"
        )
    mine = _my_buckets(ctx)
    if mine is not None and bucket in mine:
        state = "warn"
        notes.append(
            f"hint: the bucket lives in this account ({ctx.account or 'the caller'}); if "
            f"this account also runs workloads, deliver to a bucket in a dedicated "
            f"log-archive account so that whoever compromises this account cannot erase "
            f"the logs"
        )
    elif mine is not None:
        notes.append("the bucket is not in this account (a separate log-archive account)")
    fix = ""
    if state == "warn":
        fix = _cli(
            trail,
            "update-trail",
            "--name",
            _q(name),
            "--s3-bucket-name",
            "<bucket-in-log-archive-account>",
        )
    return _Row("2", trail, state, "; ".join(notes), fix)


def _statement_list(policy: Any) -> list[dict[str, Any]]:
    doc = json.loads(policy) if isinstance(policy, str) else policy
    stmts = doc.get("Statement", []) if isinstance(doc, dict) else []
    return [stmts] if isinstance(stmts, dict) else list(stmts)


def _grants_everyone(stmt: dict[str, Any]) -> bool:
    if stmt.get("Effect") != "Allow":
        return False
    p = stmt.get("Principal")
    if p == "*":
        return True
    if isinstance(p, dict):
        aws = p.get("AWS")
        return aws == "*" or (isinstance(aws, list) and "*" in aws)
    return False


def public_statements(policy: str | dict[str, Any]) -> list[dict[str, Any]]:
    """The ``Allow`` statements of a bucket policy whose principal is everyone (``*``).

    >>> public_statements('{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}]}')
    [{'Effect': 'Allow', 'Principal': '*', 'Action': 's3:GetObject'}]
    """
    return [s for s in _statement_list(policy) if _grants_everyone(s)]


def _pab_all(resp: Any) -> bool | None:
    if isinstance(resp, Exception):
        return False if error_code(resp) == "NoSuchPublicAccessBlockConfiguration" else None
    if resp is None:
        return None
    cfg = resp.get("PublicAccessBlockConfiguration", {})
    keys = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    return all(cfg.get(k) for k in keys)


def _check_lockdown(ctx: _Ctx, trail: dict[str, Any]) -> _Row:
    bucket = trail.get("S3BucketName")
    if not bucket:
        return _Row("3", trail, "n/a", "the trail names no S3 bucket")
    facts = _bucket_facts(ctx, bucket)
    if _missing(facts["head"]):
        return _Row("3", trail, "n/a", f"bucket {bucket} does not exist")
    b = _q(bucket)
    notes, fixes, unknown = [], [], []

    bucket_pab, account_pab = _pab_all(facts["pab"]), _pab_all(facts["account_pab"])
    if bucket_pab or account_pab:
        notes.append(
            "public access blocked ("
            + ("bucket" if bucket_pab else "account")
            + " level, all four settings)"
        )
    elif bucket_pab is None and account_pab is None:
        unknown.append("public access block (s3:GetBucketPublicAccessBlock)")
    else:
        notes.append(
            "public access NOT fully blocked (bucket-level Block Public Access is off or partial)"
        )
        fixes.append(
            f"aws s3api put-public-access-block --bucket {b} --public-access-block-configuration "
            f"BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true"
        )

    pol = facts["policy"]
    if isinstance(pol, Exception):
        if error_code(pol) == "NoSuchBucketPolicy":
            notes.append(
                "no bucket policy (so none grants '*'; note CloudTrail needs one to deliver)"
            )
        else:
            unknown.append("bucket policy (s3:GetBucketPolicy)")
    else:
        public = public_statements(pol.get("Policy", "{}"))
        open_ = [s for s in public if not s.get("Condition")]
        if open_:
            sids = ", ".join(str(s.get("Sid") or f"#{i}") for i, s in enumerate(open_))
            notes.append(f"bucket policy grants '*' without a condition (statement {sids})")
            fixes.append(
                f"aws s3api get-bucket-policy --bucket {b} --query Policy --output text > policy.json  "
                f"# remove the statement(s) {sids} with Principal '*', then: "
                f"aws s3api put-bucket-policy --bucket {b} --policy file://policy.json"
            )
        elif public:
            notes.append(
                f"bucket policy grants '*' only under conditions ({len(public)} statement(s)); review them"
            )
        else:
            notes.append("bucket policy grants nothing to '*'")

    ver, lock = facts["versioning"], facts["lock"]
    lock_on = not isinstance(lock, Exception) and (
        lock.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
    )
    if isinstance(ver, Exception):
        unknown.append("versioning (s3:GetBucketVersioning)")
        ver_on = mfa = False
    else:
        ver_on = ver.get("Status") == "Enabled"
        mfa = ver.get("MFADelete") == "Enabled"
    if lock_on:
        rule = lock.get("ObjectLockConfiguration", {}).get("Rule", {}).get("DefaultRetention", {})
        retention = (
            f", default retention {rule.get('Mode')} {rule.get('Days') or rule.get('Years')}"
            if rule
            else ""
        )
        notes.append(f"Object Lock enabled{retention}")
    elif ver_on and mfa:
        notes.append("versioning with MFA delete")
    elif isinstance(ver, Exception) or (
        isinstance(lock, Exception) and error_code(lock) != "ObjectLockConfigurationNotFoundError"
    ):
        if (
            isinstance(lock, Exception)
            and error_code(lock) != "ObjectLockConfigurationNotFoundError"
        ):
            unknown.append("Object Lock (s3:GetBucketObjectLockConfiguration)")
    else:
        state = "versioning " + ("on" if ver_on else "off") + (", MFA delete off" if ver_on else "")
        notes.append(
            f"{state}; no Object Lock: deleted or overwritten log files cannot be recovered for sure"
        )
        fixes.append(
            f"aws s3api put-bucket-versioning --bucket {b} --versioning-configuration Status=Enabled,MFADelete=Enabled "
            f"--mfa 'arn:aws:iam::{ctx.account or '<account>'}:mfa/root-account-mfa-device <code>'  # as the root user"
            f"\n# or: aws s3api put-object-lock-configuration --bucket {b} --object-lock-configuration "
            + _q(
                '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":365}}}'
            )
        )
    if unknown:
        notes.append("could not read: " + ", ".join(unknown))
    state = "fail" if fixes else ("error" if unknown else "pass")
    return _Row("3", trail, state, "; ".join(notes), "\n".join(fixes))


def _check_validation(trail: dict[str, Any]) -> _Row:
    name = trail.get("Name") or trail["TrailARN"]
    if trail.get("LogFileValidationEnabled"):
        return _Row(
            "4", trail, "pass", "LogFileValidationEnabled=True (hourly signed digest files)"
        )
    return _Row(
        "4",
        trail,
        "fail",
        "LogFileValidationEnabled=False: tampering with delivered logs cannot be detected",
        _cli(trail, "update-trail", "--name", _q(name), "--enable-log-file-validation"),
    )


def _log_group(arn: str) -> tuple[str | None, str | None]:
    # arn:aws:logs:<region>:<account>:log-group:<name>[:*]
    parts = arn.split(":")
    if len(parts) < 7 or parts[5] != "log-group":
        return None, None
    return parts[3], parts[6]


def covers_root_sign_in(pattern: str) -> bool:
    """True when a CloudWatch Logs filter pattern matches a root console sign-in event.

    The pattern is evaluated with :mod:`trailkit.filters` on a root ``ConsoleLogin`` record, so
    any correct spelling counts (the CIS root-usage filter, a ConsoleLogin-and-Root filter, ...).

    >>> covers_root_sign_in(ROOT_FILTER_PATTERN)
    True
    >>> covers_root_sign_in('{ $.eventName = "ConsoleLogin" && $.userIdentity.type = "IAMUser" }')
    False
    """
    from trailkit.filters import filter_pattern
    from trailkit.load import normalize_records

    try:
        parsed = filter_pattern(pattern)
    except Exception:  # a pattern CloudWatch would reject matches nothing
        return False
    return parsed.count(normalize_records([_ROOT_SIGN_IN], source="audit-probe")) > 0


def _check_cloudwatch(ctx: _Ctx, trail: dict[str, Any]) -> _Row:
    name = trail.get("Name") or trail["TrailARN"]
    arn = trail.get("CloudWatchLogsLogGroupArn")

    def filter_fix(group: str, region: str) -> str:
        return (
            f"aws logs put-metric-filter --log-group-name {group} --filter-name RootActivity "
            f"--metric-transformations metricName=RootActivityCount,metricNamespace=CloudTrailMetrics,"
            f"metricValue=1 --filter-pattern {_q(ROOT_FILTER_PATTERN)} --region {region}"
        )

    alarm_fix = (
        "aws cloudwatch put-metric-alarm --alarm-name root-activity --metric-name {metric} --namespace {ns} "
        "--statistic Sum --period 300 --evaluation-periods 1 --threshold 1 "
        "--comparison-operator GreaterThanOrEqualToThreshold --treat-missing-data notBreaching "
        "--alarm-actions arn:aws:sns:{region}:{account}:<security-alerts-topic> --region {region}"
    )
    account = ctx.account or "<account>"
    if not arn:
        region = trail.get("HomeRegion") or ctx.region
        fixes = [
            f"aws logs create-log-group --log-group-name CloudTrail/{name} --region {region}",
            _cli(
                trail,
                "update-trail",
                "--name",
                _q(name),
                "--cloud-watch-logs-log-group-arn",
                f"arn:aws:logs:{region}:{account}:log-group:CloudTrail/{name}:*",
                "--cloud-watch-logs-role-arn",
                f"arn:aws:iam::{account}:role/CloudTrail_CloudWatchLogs_Role",
            ),
            filter_fix(group=_q(f"CloudTrail/{name}"), region=region),
            alarm_fix.format(
                metric="RootActivityCount", ns="CloudTrailMetrics", region=region, account=account
            ),
        ]
        return _Row(
            "5",
            trail,
            "fail",
            "the trail does not send events to CloudWatch Logs: no real-time "
            "alerting (console: CloudTrail > Trails > <trail> > CloudWatch Logs > Edit)",
            "\n".join(fixes),
        )
    region, group = _log_group(arn)
    region = region or trail.get("HomeRegion") or ctx.region
    notes = [f"sends to log group {group} ({region})"]
    try:
        logs = client("logs", ctx.session, region=region)
        filters = [
            f
            for page in logs.get_paginator("describe_metric_filters").paginate(logGroupName=group)
            for f in page.get("metricFilters", [])
        ]
    except Exception as exc:
        why = (
            "logs:DescribeMetricFilters denied"
            if is_denied(exc)
            else f"{error_code(exc)}: {error_message(exc)}"
        )
        notes.append(f"could not read its metric filters ({why})")
        return _Row("5", trail, "error", "; ".join(notes))
    roots = [f for f in filters if covers_root_sign_in(f.get("filterPattern") or "")]
    if not roots:
        notes.append(f"no metric filter matches a root sign-in among {len(filters)} filter(s)")
        return _Row(
            "5",
            trail,
            "fail",
            "; ".join(notes),
            "\n".join(
                [
                    filter_fix(group=_q(group), region=region),
                    alarm_fix.format(
                        metric="RootActivityCount",
                        ns="CloudTrailMetrics",
                        region=region,
                        account=account,
                    ),
                ]
            ),
        )
    metrics = {
        (t["metricName"], t["metricNamespace"])
        for f in roots
        for t in f.get("metricTransformations", [])
    }
    notes.append("root metric filter " + ", ".join(f"{f['filterName']!r}" for f in roots))
    try:
        cw = client("cloudwatch", ctx.session, region=region)
        alarms = [
            a
            for page in cw.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"])
            for a in page.get("MetricAlarms", [])
            if (a.get("MetricName"), a.get("Namespace")) in metrics
        ]
    except Exception as exc:
        why = "cloudwatch:DescribeAlarms denied" if is_denied(exc) else f"{error_code(exc)}"
        notes.append(f"could not read alarms ({why})")
        return _Row("5", trail, "error", "; ".join(notes))
    metric, ns = sorted(metrics)[0] if metrics else ("<metric>", "<namespace>")
    if not alarms:
        notes.append(f"but no alarm on metric {ns}/{metric}: nobody is told when root is used")
        return _Row(
            "5",
            trail,
            "fail",
            "; ".join(notes),
            alarm_fix.format(metric=_q(metric), ns=_q(ns), region=region, account=account),
        )
    with_actions = [a for a in alarms if a.get("AlarmActions")]
    if not with_actions:
        notes.append(f"alarm {alarms[0]['AlarmName']!r} has no actions: it notifies nobody")
        return _Row(
            "5",
            trail,
            "warn",
            "; ".join(notes),
            f"aws cloudwatch put-metric-alarm ... --alarm-name {_q(alarms[0]['AlarmName'])} "
            f"--alarm-actions arn:aws:sns:{region}:{account}:<security-alerts-topic>  # re-put with actions",
        )
    notes.append(
        f"alarm {with_actions[0]['AlarmName']!r} notifies {', '.join(with_actions[0]['AlarmActions'])}"
    )
    return _Row("5", trail, "pass", "; ".join(notes))


def _check_kms(trail: dict[str, Any]) -> _Row:
    name = trail.get("Name") or trail["TrailARN"]
    key = trail.get("KmsKeyId")
    if key:
        return _Row("kms", trail, "pass", f"SSE-KMS with {key} (readers need kms:Decrypt on it)")
    return _Row(
        "kms",
        trail,
        "fail",
        "log files use the default SSE-S3 encryption only: anyone with s3:GetObject can read them",
        _cli(trail, "update-trail", "--name", _q(name), "--kms-key-id", "<key-arn-or-alias>")
        + "  # the key policy must let cloudtrail.amazonaws.com call kms:GenerateDataKey*",
    )


def _check_org(ctx: _Ctx, trails: list[dict[str, Any]]) -> list[_Row]:
    org_trails = [t for t in trails if t.get("IsOrganizationTrail")]
    try:
        org = client("organizations", ctx.session).describe_organization()["Organization"]
    except Exception as exc:
        code = error_code(exc)
        if code == "AWSOrganizationsNotInUseException":
            return [_Row("org", None, "n/a", "this account is not in an AWS Organization")]
        if org_trails:
            return [
                _Row("org", t, "pass", "organization trail (IsOrganizationTrail=True)")
                for t in org_trails
            ]
        why = "organizations:DescribeOrganization denied" if is_denied(exc) else code
        return [
            _Row(
                "org",
                None,
                "error",
                f"could not tell whether the account is in an organization ({why})",
            )
        ]
    if org_trails:
        return [
            _Row(
                "org",
                t,
                "pass",
                f"organization trail of {org.get('Id')}: every member account's "
                f"events are logged (members cannot stop or delete it)",
            )
            for t in org_trails
        ]
    mgmt = org.get("MasterAccountId")
    ranked = sorted(trails, key=lambda t: (not t.get("IsMultiRegionTrail"), t.get("Name") or ""))
    central = next(
        (t.get("S3BucketName") for t in ranked if t.get("S3BucketName")), "<central-log-bucket>"
    )
    where = (
        "this is the management account"
        if mgmt == ctx.account
        else f"run in the management account {mgmt}"
    )
    fix = (
        f"aws organizations enable-aws-service-access --service-principal cloudtrail.amazonaws.com\n"
        f"aws cloudtrail create-trail --name org-trail --s3-bucket-name {_q(central)} --is-organization-trail "
        f"--is-multi-region-trail --enable-log-file-validation --region {ctx.region}\n"
        f"aws cloudtrail start-logging --name org-trail --region {ctx.region}  # {where}"
    )
    return [
        _Row(
            "org",
            None,
            "fail",
            f"account is in organization {org.get('Id')}, but no organization "
            f"trail is visible: member accounts may be unlogged",
            fix,
        )
    ]


def audit_trails(
    session: boto3.Session | None = None, *, region: str | None = None
) -> pl.DataFrame:
    """Check the account's trails against the CloudTrail best practices; one row per check and trail.

    Read-only: it calls ``Describe*``/``Get*``/``List*`` only.

    Parameters
    ----------
    session
        A ``boto3.Session`` (default: the normal credential chain).
    region
        Region to ask for the trails (default: the session's). Multi-region trails from every
        region and single-region trails of other regions are found either way.

    Returns
    -------
    polars.DataFrame
        Columns ``check_id`` (``1``-``5``, ``kms``, ``org``), ``check``, ``title``, ``trail``,
        ``trail_arn``, ``home_region``, ``s3_bucket`` (where the trail delivers), ``status`` (``pass``, ``warn`` = passes with a hint,
        ``fail``, ``error`` = could not be read, ``n/a``), ``passed`` (null when undecided),
        ``evidence`` (what was seen) and ``fix`` (the CLI commands or console path).
        Without any trail, each check has one failing row with ``trail`` null.

    Examples
    --------
    >>> report = audit_trails(session)  # doctest: +SKIP
    >>> report.filter(~pl.col("passed")).select("check", "trail", "fix")  # doctest: +SKIP
    """
    import polars as pl

    session = get_session(session)
    home = region or region_of(session)
    ctx = _Ctx(session=session, account=_caller_account(session), region=home)
    trails = _trails(session, home)
    rows: list[_Row] = []
    if not trails:
        bucket = f"cloudtrail-logs-{ctx.account or '<account>'}"
        create = (
            f"aws cloudtrail create-trail --name management-events --s3-bucket-name {bucket} "
            f"--is-multi-region-trail --include-global-service-events --enable-log-file-validation "
            f"--kms-key-id <key-arn-or-alias> --region {home}\n"
            f"aws cloudtrail start-logging --name management-events --region {home}"
        )
        none = (
            f"no trail in this account (checked from {home}): only the 90-day Event history exists"
        )
        for cid in ("1", "2", "3", "4", "5", "kms"):
            rows.append(
                _Row(
                    cid,
                    None,
                    "fail",
                    none,
                    create if cid == "1" else "create a trail first (check 1)",
                )
            )
        rows += _check_org(ctx, trails)
        return pl.DataFrame([r.as_dict() for r in rows], schema=_columns())

    buckets = {t["S3BucketName"] for t in trails if t.get("S3BucketName")}
    per_trail: list[_Row] = []
    for trail in trails:
        tct = client("cloudtrail", session, region=trail.get("HomeRegion") or home)
        try:
            status = tct.get_trail_status(Name=trail["TrailARN"])
        except Exception:
            status = None
        try:
            selectors = tct.get_event_selectors(TrailName=trail["TrailARN"])
        except Exception:
            selectors = None
        per_trail += [
            _check_logging(trail, status, selectors),
            _check_central(ctx, trail, buckets),
            _check_lockdown(ctx, trail),
            _check_validation(trail),
            _check_cloudwatch(ctx, trail),
            _check_kms(trail),
        ]
    # a single-region or stopped trail is fine when another trail covers the account
    covering = [
        r.trail["Name"] for r in per_trail if r.check_id == "1" and r.status == "pass" and r.trail
    ]
    for r in per_trail:
        if r.check_id == "1" and r.status == "fail" and covering:
            r.status = "warn"
            r.evidence += f" (the account is covered by multi-region trail {', '.join(covering)})"
            name = r.trail.get("Name") or r.trail["TrailARN"]
            r.fix += "\n# or, if this trail is redundant: " + _cli(
                r.trail, "delete-trail", "--name", _q(name)
            )
    rows = per_trail + _check_org(ctx, trails)
    order = {cid: i for i, cid in enumerate(CHECKS)}
    rows.sort(key=lambda r: (order[r.check_id], (r.trail or {}).get("Name") or ""))
    return pl.DataFrame([r.as_dict() for r in rows], schema=_columns())


def audit_summary(report: pl.DataFrame) -> str:
    """One line per check: the best status over the trails (an account passes when one trail does).

    >>> import polars as pl
    >>> audit_summary(pl.DataFrame({"check_id": ["4"], "title": ["Validation"], "status": ["fail"]}))
    '4   FAIL  Validation'
    """
    rank = {"pass": 0, "warn": 1, "fail": 2, "error": 3, "n/a": 4}
    lines = []
    for cid in dict.fromkeys(report["check_id"].to_list()):
        sub = report.filter(report["check_id"] == cid)
        best = min(sub["status"].to_list(), key=lambda s: rank.get(s, 9))
        lines.append(f"{cid:<3} {best.upper():<5} {sub['title'][0]}")
    return "\n".join(lines)


def fix_script(report: pl.DataFrame) -> str:
    """The fixes of every failing or warning row, as one commented shell script to review.

    >>> import polars as pl
    >>> print(fix_script(pl.DataFrame({"check_id": ["4"], "title": ["Validation"], "trail": ["t"],
    ...     "status": ["fail"], "evidence": ["off"], "fix": ["aws cloudtrail update-trail ..."]})))
    # 4 Validation -- trail t: FAIL
    #   seen: off
    aws cloudtrail update-trail ...
    <BLANKLINE>
    """
    out = []
    for r in report.iter_rows(named=True):
        if r["status"] not in ("fail", "warn") or not r["fix"]:
            continue
        out.append(
            f"# {r['check_id']} {r['title']} -- trail {r['trail'] or '(none)'}: {r['status'].upper()}"
        )
        out.append(f"#   seen: {r['evidence']}")
        out.append(r["fix"])
        out.append("")
    return "\n".join(out) if out else "# nothing to fix"
