"""Turn CloudTrail into an alarm: a CloudWatch Logs metric filter plus a CloudWatch alarm.

A trail that delivers to a CloudWatch Logs log group can raise an alarm within minutes of an
event: the *metric filter* counts events matching a pattern (e.g. a root sign-in) into a
CloudWatch metric, and the *alarm* notifies an SNS topic when that count reaches 1. This is
how the CIS AWS Foundations Benchmark "monitoring" controls are implemented.
:func:`create_alarm` creates both, from a pattern (test it first with
:func:`trailkit.filter_pattern` on loaded events) or a CIS filter name
(:func:`trailkit.cis_filters`). With ``dry_run=True`` it only returns the two requests.

Examples
--------
>>> from trailkit.aws.alarms import create_alarm
>>> plan = create_alarm("root_usage", log_group="CloudTrail/logs",
...     sns_topic_arn="arn:aws:sns:us-east-1:111122223333:security-alerts", dry_run=True)
>>> plan.filter_name, plan.alarm_name
('trailkit-root_usage', 'trailkit-root_usage')
>>> plan.metric_filter["filterPattern"][:30]
'{$.userIdentity.type="Root" &&'
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trailkit.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import boto3

__all__ = ["AlarmSetup", "create_alarm"]

_SNS_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?$")
_NAME = re.compile(r"^[A-Za-z0-9._/#-]{1,255}$")  # CloudWatch metric / filter names (conservative)


@dataclass
class AlarmSetup:
    """What :func:`create_alarm` created (or, with ``dry_run=True``, would create)."""

    name: str
    pattern: str
    log_group: str
    filter_name: str
    metric_name: str
    namespace: str
    alarm_name: str
    sns_topic_arn: str
    dry_run: bool
    #: the ``logs.put_metric_filter`` request
    metric_filter: dict[str, Any] = field(repr=False, default_factory=dict)
    #: the ``cloudwatch.put_metric_alarm`` request
    alarm: dict[str, Any] = field(repr=False, default_factory=dict)
    alarm_arn: str | None = None

    def cli(self) -> str:
        """The same two requests as AWS CLI commands (to paste, or to read in an exam).

        >>> print(create_alarm("root_usage", log_group="ct", dry_run=True,
        ...       sns_topic_arn="arn:aws:sns:us-east-1:111122223333:a").cli().splitlines()[0])
        aws logs put-metric-filter \\
        """
        import shlex

        f, a = self.metric_filter, self.alarm
        tr = f["metricTransformations"][0]
        return "\n".join(
            [
                "aws logs put-metric-filter \\",
                f"  --log-group-name {shlex.quote(f['logGroupName'])} \\",
                f"  --filter-name {shlex.quote(f['filterName'])} \\",
                f"  --filter-pattern {shlex.quote(f['filterPattern'])} \\",
                f"  --metric-transformations metricName={tr['metricName']},metricNamespace={tr['metricNamespace']},"
                f"metricValue={tr['metricValue']}",
                "",
                "aws cloudwatch put-metric-alarm \\",
                f"  --alarm-name {shlex.quote(a['AlarmName'])} \\",
                f"  --alarm-description {shlex.quote(a['AlarmDescription'])} \\",
                f"  --metric-name {a['MetricName']} --namespace {a['Namespace']} \\",
                f"  --statistic {a['Statistic']} --period {a['Period']} --evaluation-periods {a['EvaluationPeriods']} \\",
                f"  --threshold {a['Threshold']:g} --comparison-operator {a['ComparisonOperator']} \\",
                f"  --treat-missing-data {a['TreatMissingData']} \\",
                f"  --alarm-actions {shlex.quote(a['AlarmActions'][0])}",
            ]
        )

    def __str__(self) -> str:
        verb = "Would create" if self.dry_run else "Created"
        return (
            f"{verb} metric filter {self.filter_name!r} on log group {self.log_group!r}\n"
            f"  pattern: {self.pattern}\n"
            f"  metric:  {self.namespace}/{self.metric_name} (+1 per matching event)\n"
            f"{verb} alarm {self.alarm_name!r}: Sum >= {self.alarm['Threshold']} in "
            f"{self.alarm['Period']} s -> {self.sns_topic_arn}"
        )


def _metric_name(name: str) -> str:
    return (
        "".join(w[:1].upper() + w[1:] for w in re.split(r"[^A-Za-z0-9]+", name) if w)
        or "TrailkitMatches"
    )


def create_alarm(
    pattern_or_cis_name: str,
    *,
    log_group: str,
    sns_topic_arn: str,
    session: boto3.Session | None = None,
    name: str | None = None,
    namespace: str = "CloudTrailMetrics",
    period: int = 300,
    threshold: float = 1,
    evaluation_periods: int = 1,
    region: str | None = None,
    dry_run: bool = False,
) -> AlarmSetup:
    """Create a CloudWatch Logs metric filter and a CloudWatch alarm that notifies SNS.

    Parameters
    ----------
    pattern_or_cis_name
        A JSON filter pattern (``'{ $.userIdentity.type = "Root" }'``) or a name from
        :func:`trailkit.cis_filters` (``"root_usage"``, ``"security_group_changes"``, ...).
        The pattern is parsed first; CloudWatch's limits (1024 characters, 2 regexes) are
        checked before anything is sent.
    log_group
        The CloudWatch Logs log group the trail delivers to (the trail's
        ``CloudWatchLogsLogGroupArn``; give the group's name).
    sns_topic_arn
        The SNS topic the alarm notifies (subscribe your e-mail to it).
    session
        A ``boto3.Session`` (default: the normal credential chain; honours
        ``TRAILKIT_AWS_ENDPOINT_URL``). Not used with ``dry_run=True``.
    name
        Base name of the filter, metric and alarm (default: the CIS name, else
        ``custom-<hash>``). The filter and alarm are called ``trailkit-<name>``; calling again
        with the same name updates them.
    namespace, period, threshold, evaluation_periods
        The metric namespace and the alarm rule: alarm when the sum of matches over
        ``period`` seconds reaches ``threshold`` in ``evaluation_periods`` periods (default:
        any single match within 5 minutes). Periods without events count as "not breaching".
    region
        Region of the log group (default: the session's region).
    dry_run
        Only build and return the two requests; call nothing.

    Returns
    -------
    AlarmSetup
        Names, the two requests (``metric_filter``, ``alarm``) and the alarm's ARN.

    Raises
    ------
    trailkit.filters.FilterPatternError
        The pattern is not valid CloudWatch syntax (the message points at the position).
    trailkit.aws.AwsNotFound
        The log group does not exist.
    trailkit.aws.AwsAccessDenied
        The caller lacks ``logs:PutMetricFilter`` or ``cloudwatch:PutMetricAlarm``.

    Examples
    --------
    >>> import trailkit.aws
    >>> trailkit.aws.create_alarm("root_usage", log_group="CloudTrail/logs",
    ...     sns_topic_arn="arn:aws:sns:us-east-1:111122223333:alerts")  # doctest: +SKIP
    """
    from trailkit.filters import FilterPattern, filter_pattern

    fp: FilterPattern = filter_pattern(pattern_or_cis_name)
    problems = fp.problems()
    if problems:
        raise InputError(
            f"CloudWatch would refuse the pattern {fp.text[:80]!r}: {'; '.join(problems)}."
        )
    base = name or fp.name or "custom-" + hashlib.sha256(fp.text.encode()).hexdigest()[:8]
    if not _NAME.match(base):
        raise InputError(
            f"name={base!r}: use letters, digits, '.', '_', '-', '/' or '#' (at most 255)."
        )
    if not isinstance(log_group, str) or not re.fullmatch(r"[\w#./-]{1,512}", log_group):
        raise InputError(
            f"log_group={log_group!r} is not a CloudWatch Logs log group name (letters, digits, "
            f"'_', '-', '/', '.', '#'). Give the name, not the ARN."
        )
    if not _SNS_ARN.match(str(sns_topic_arn)):
        raise InputError(
            f"sns_topic_arn={sns_topic_arn!r} is not an SNS topic ARN such as "
            f"arn:aws:sns:us-east-1:111122223333:security-alerts."
        )
    if period < 10 or (period >= 60 and period % 60) or evaluation_periods < 1:
        raise InputError(
            "period must be 10, 30 or a multiple of 60 seconds, and evaluation_periods at least 1."
        )
    filter_name = f"trailkit-{base}"
    metric = _metric_name(base)
    title = fp.title or "events matching a CloudTrail filter pattern"
    metric_filter = {
        "logGroupName": log_group,
        "filterName": filter_name,
        "filterPattern": fp.text,
        "metricTransformations": [
            {"metricName": metric, "metricNamespace": namespace, "metricValue": "1"}
        ],
    }
    alarm = {
        "AlarmName": filter_name,
        "AlarmDescription": (f"{title} ({fp.reference}). " if fp.reference else f"{title}. ")
        + f"Created by trailkit from metric filter {filter_name} on {log_group}.",
        "MetricName": metric,
        "Namespace": namespace,
        "Statistic": "Sum",
        "Period": int(period),
        "EvaluationPeriods": int(evaluation_periods),
        "Threshold": float(threshold),
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [sns_topic_arn],
    }
    setup = AlarmSetup(
        base,
        fp.text,
        log_group,
        filter_name,
        metric,
        namespace,
        filter_name,
        sns_topic_arn,
        dry_run,
        metric_filter,
        alarm,
    )
    if dry_run:
        return setup

    from trailkit.aws.session import (
        AwsNotFound,
        client,
        denied,
        error_code,
        error_message,
        is_denied,
    )

    logs = client("logs", session, region=region)
    cw = client("cloudwatch", session, region=region)
    try:
        groups = logs.describe_log_groups(logGroupNamePrefix=log_group).get("logGroups", [])
    except Exception as exc:  # without logs:DescribeLogGroups, let PutMetricFilter say it
        if not is_denied(exc):
            raise
    else:
        if not any(g.get("logGroupName") == log_group for g in groups):
            raise AwsNotFound(
                f"log group {log_group!r} not found in {logs.meta.region_name}. Send the trail to "
                f"CloudWatch Logs first (trail setting CloudWatchLogsLogGroupArn) and pass that "
                f"group's name, or pass region= for the group's region."
            )
    try:
        logs.put_metric_filter(**metric_filter)
    except Exception as exc:
        if is_denied(exc):
            raise denied(
                f"creating metric filter {filter_name} on {log_group}",
                "logs:PutMetricFilter",
                f"log group {log_group}",
                exc,
            ) from exc
        if error_code(exc) == "ResourceNotFoundException":
            raise AwsNotFound(
                f"log group {log_group!r} not found in {logs.meta.region_name} ({error_message(exc)}). "
                f"Send the trail to CloudWatch Logs first (trail setting CloudWatchLogsLogGroupArn) and "
                f"pass that group's name, or pass region= for the group's region."
            ) from exc
        raise
    try:
        cw.put_metric_alarm(**alarm)
    except Exception as exc:
        if is_denied(exc):
            raise denied(
                f"creating alarm {filter_name}", "cloudwatch:PutMetricAlarm", filter_name, exc
            ) from exc
        raise
    found = cw.describe_alarms(AlarmNames=[filter_name]).get("MetricAlarms", [])
    setup.alarm_arn = found[0].get("AlarmArn") if found else None
    return setup
