"""Everything in trailkit that talks to AWS: fetch logs, LookupEvents, trail audit, remediation.

boto3 is imported on first use, so ``import trailkit.aws`` stays light. Every function takes
``session=`` (a ``boto3.Session``); without one it uses the normal credential chain
(environment, profiles, SSO, instance role). Nothing here changes an account except
:func:`revoke_open_ingress` with ``dry_run=False`` and the Lambda handler in
:mod:`trailkit.aws.lambda_remediation` that you deploy yourself.

Examples
--------
>>> import trailkit.aws
>>> sorted(n for n in trailkit.aws.__all__ if n.startswith(("fetch", "lookup", "audit", "revoke")))
['audit_summary', 'audit_trails', 'fetch_logs', 'fetch_logs_url', 'lookup_events', 'revoke_open_ingress']
"""

from __future__ import annotations

from trailkit._lazy import lazy_exports

# public name -> module that defines it (imported on first attribute access)
_LAZY: dict[str, str] = {
    "fetch_logs": "trailkit.aws.s3",
    "fetch_logs_url": "trailkit.aws.s3",
    "last_fetch": "trailkit.aws.s3",
    "FetchResult": "trailkit.aws.s3",
    "lookup_events": "trailkit.aws.lookup",
    "audit_trails": "trailkit.aws.audit",
    "audit_summary": "trailkit.aws.audit",
    "fix_script": "trailkit.aws.audit",
    "revoke_open_ingress": "trailkit.aws.remediation",
    "demo_account": "trailkit.aws.demo",
    "create_alarm": "trailkit.aws.alarms",
    "AlarmSetup": "trailkit.aws.alarms",
    "DemoAccount": "trailkit.aws.demo",
    "get_session": "trailkit.aws.session",
    "AwsError": "trailkit.aws.session",
    "AwsAccessDenied": "trailkit.aws.session",
    "AwsNotFound": "trailkit.aws.session",
    "NoLogsFound": "trailkit.aws.session",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports('trailkit.aws', _LAZY, globals(), ("session", "s3", "lookup", "audit", "remediation", "lambda_remediation"))
