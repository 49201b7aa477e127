"""Tests for trailkit.aws.alarms.create_alarm, against moto's server through real boto3 clients."""

from __future__ import annotations

import pytest

import trailkit
import trailkit.aws
from trailkit.aws.alarms import create_alarm
from trailkit.filters import FilterPatternError, cis_filters

TOPIC = "arn:aws:sns:us-east-1:123456789012:security-alerts"


@pytest.fixture
def log_group(aws_session, moto_reset):
    logs = aws_session.client("logs")
    logs.create_log_group(logGroupName="CloudTrail/management-events")
    topic = aws_session.client("sns").create_topic(Name="security-alerts")["TopicArn"]
    return "CloudTrail/management-events", topic


def test_create_cis_root_alarm(aws_session, log_group):
    group, topic = log_group
    setup = trailkit.aws.create_alarm(
        "root_usage", log_group=group, sns_topic_arn=topic, session=aws_session
    )
    assert (
        not setup.dry_run
        and setup.alarm_arn
        and setup.alarm_arn.endswith(":alarm:trailkit-root_usage")
    )

    filters = aws_session.client("logs").describe_metric_filters(logGroupName=group)[
        "metricFilters"
    ]
    assert [f["filterName"] for f in filters] == ["trailkit-root_usage"]
    assert filters[0]["filterPattern"] == cis_filters()["root_usage"].text
    tr = filters[0]["metricTransformations"][0]
    assert (tr["metricName"], tr["metricNamespace"], tr["metricValue"]) == (
        "RootUsage",
        "CloudTrailMetrics",
        "1",
    )

    alarm = aws_session.client("cloudwatch").describe_alarms(AlarmNames=["trailkit-root_usage"])[
        "MetricAlarms"
    ][0]
    assert alarm["MetricName"] == "RootUsage" and alarm["Namespace"] == "CloudTrailMetrics"
    assert alarm["AlarmActions"] == [topic]
    assert alarm["Statistic"] == "Sum" and alarm["Threshold"] == 1.0 and alarm["Period"] == 300
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert "Security Hub CloudWatch.1" in alarm["AlarmDescription"]


def test_custom_pattern_and_update(aws_session, log_group):
    group, topic = log_group
    pattern = '{ ($.eventName = "ConsoleLogin") && ($.userIdentity.type = "Root") }'
    first = create_alarm(
        pattern, log_group=group, sns_topic_arn=topic, session=aws_session, name="root-login"
    )
    assert first.filter_name == "trailkit-root-login" and first.metric_name == "RootLogin"
    create_alarm(
        pattern,
        log_group=group,
        sns_topic_arn=topic,
        session=aws_session,
        name="root-login",
        period=60,
        threshold=2,
    )
    logs = aws_session.client("logs")
    # AWS replaces a filter of the same name (moto keeps both copies; either way one name)
    assert {
        f["filterName"] for f in logs.describe_metric_filters(logGroupName=group)["metricFilters"]
    } == {"trailkit-root-login"}
    alarm = aws_session.client("cloudwatch").describe_alarms(AlarmNames=["trailkit-root-login"])[
        "MetricAlarms"
    ][0]
    assert alarm["Period"] == 60 and alarm["Threshold"] == 2.0
    unnamed = create_alarm(pattern, log_group=group, sns_topic_arn=topic, session=aws_session)
    assert unnamed.name.startswith("custom-")


def test_every_cis_filter_is_accepted(aws_session, log_group):
    group, topic = log_group
    for name in cis_filters():
        create_alarm(name, log_group=group, sns_topic_arn=topic, session=aws_session)
    got = aws_session.client("logs").describe_metric_filters(logGroupName=group)["metricFilters"]
    assert sorted(f["filterName"] for f in got) == sorted(f"trailkit-{n}" for n in cis_filters())


def test_missing_log_group(aws_session, moto_reset):
    with pytest.raises(trailkit.aws.AwsNotFound, match="log group 'nope' not found"):
        create_alarm("root_usage", log_group="nope", sns_topic_arn=TOPIC, session=aws_session)


def test_dry_run_calls_nothing():
    class NoSession:
        def client(self, *a, **k):  # pragma: no cover - must not be called
            raise AssertionError("dry run must not call AWS")

    setup = create_alarm(
        "security_group_changes",
        log_group="ct",
        sns_topic_arn=TOPIC,
        session=NoSession(),
        dry_run=True,
    )
    assert setup.dry_run and setup.alarm_arn is None
    assert setup.metric_filter["filterName"] == "trailkit-security_group_changes"
    assert setup.alarm["AlarmActions"] == [TOPIC]
    assert str(setup).startswith("Would create metric filter 'trailkit-security_group_changes'")


def test_bad_input_is_refused_before_any_call():
    with pytest.raises(FilterPatternError):
        create_alarm("{ $.eventName = }", log_group="ct", sns_topic_arn=TOPIC, dry_run=True)
    with pytest.raises(trailkit.InputError, match="SNS topic ARN"):
        create_alarm("root_usage", log_group="ct", sns_topic_arn="security-alerts", dry_run=True)
    with pytest.raises(trailkit.InputError, match="not a CloudWatch Logs log group name"):
        create_alarm(
            "root_usage",
            log_group="arn:aws:logs:us-east-1:1:log-group:x:*",
            sns_topic_arn=TOPIC,
            dry_run=True,
        )
    with pytest.raises(trailkit.InputError, match="1024"):
        create_alarm(
            "{ " + " || ".join(f"$.eventName = E{i:04d}" for i in range(80)) + " }",
            log_group="ct",
            sns_topic_arn=TOPIC,
            dry_run=True,
        )
    with pytest.raises(trailkit.InputError, match="period"):
        create_alarm("root_usage", log_group="ct", sns_topic_arn=TOPIC, period=90, dry_run=True)


# ----------------------------------------------------------------------------- notebook 06

NOTEBOOK = (
    __import__("pathlib").Path(__file__).resolve().parents[1]
    / "notebooks"
    / "06-alarm-on-root-login.ipynb"
)


def test_notebook_06_stored_clean():
    from tests.test_integrity import check_stored_notebook

    check_stored_notebook(NOTEBOOK)


def test_notebook_06_dry_run(tmp_path, monkeypatch):
    from tests.test_integrity import run_notebook

    text = run_notebook(NOTEBOOK, tmp_path, monkeypatch)
    import re

    m = re.search(r"the pattern matches (\d+) events; the polars query found (\d+)", text)
    assert m and m[1] == m[2] and int(m[1]) >= 1, text[:2000]
    assert 'with "root": 0 matches' in text
    assert "invalid filter pattern at position 59" in text
    assert "Would create metric filter 'trailkit-root-console-login'" in text
    assert "aws cloudwatch put-metric-alarm" in text and "dry run: nothing was created" in text


def test_notebook_06_creates_alarm_in_demo_account(tmp_path, monkeypatch):
    from tests.test_integrity import run_notebook

    text = run_notebook(NOTEBOOK, tmp_path, monkeypatch, DRY_RUN=False, DEMO_LOCAL_ENDPOINT=True)
    assert (
        "Created metric filter 'trailkit-root-console-login' on log group 'CloudTrail/management-events'"
        in text
    )
    assert "trailkit-root-console-login" in text and "RootConsoleLogin" in text
    assert "dry run" not in text
