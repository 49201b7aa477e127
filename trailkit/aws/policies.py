"""The IAM policies trailkit needs: read-only for investigating, a separate one for remediating.

``docs/aws.md`` and the README print these documents; a test checks they match.

* :func:`investigator_policy` — read-only: fetch logs from S3 (:func:`~trailkit.aws.fetch_logs`),
  read Event history (:func:`~trailkit.aws.lookup_events`), audit the trail setup
  (:func:`~trailkit.aws.audit_trails`), validate digests (``cloudtrail:ListPublicKeys``).
* :func:`remediation_policy` — what :func:`~trailkit.aws.revoke_open_ingress` needs to revoke an
  ingress rule; give it to a separate role you assume only to remediate.
* :func:`~trailkit.aws.lambda_remediation.lambda_policy` — the Lambda's execution role.

>>> investigator_policy("my-trail-bucket")["Statement"][1]["Resource"]
'arn:aws:s3:::my-trail-bucket/*'
"""

from __future__ import annotations

from typing import Any

from trailkit.aws.lambda_remediation import EVENT_PATTERN, lambda_policy

__all__ = ["EVENT_PATTERN", "investigator_policy", "lambda_policy", "remediation_policy"]


def investigator_policy(
    bucket: str = "<trail-bucket>", kms_key_arn: str | None = "<trail-kms-key-arn>"
) -> dict[str, Any]:
    """Read-only policy for fetch_logs, lookup_events, audit_trails and integrity validation.

    Parameters
    ----------
    bucket
        The trail's S3 bucket (for a tighter policy, replace ``/*`` by ``/<prefix>/AWSLogs/*``).
    kms_key_arn
        The trail's KMS key, when log files are encrypted with SSE-KMS (``None``: no KMS
        statement).

    >>> [s["Sid"] for s in investigator_policy(kms_key_arn=None)["Statement"]]
    ['ListTrailBucket', 'ReadLogFiles', 'TrailSettingsAndEventHistory', 'LogBucketSettings']
    """
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ListTrailBucket",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": f"arn:aws:s3:::{bucket}",
        },
        {
            "Sid": "ReadLogFiles",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
        },
    ]
    if kms_key_arn:
        statements.append(
            {
                "Sid": "DecryptLogFiles",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key_arn,
                "Condition": {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}},
            }
        )
    statements += [
        {
            "Sid": "TrailSettingsAndEventHistory",
            "Effect": "Allow",
            "Action": [
                "cloudtrail:DescribeTrails",
                "cloudtrail:GetEventSelectors",
                "cloudtrail:GetTrail",
                "cloudtrail:GetTrailStatus",
                "cloudtrail:ListPublicKeys",
                "cloudtrail:ListTrails",
                "cloudtrail:LookupEvents",
                "cloudwatch:DescribeAlarms",
                "ec2:DescribeRegions",
                "logs:DescribeMetricFilters",
                "organizations:DescribeOrganization",
                "s3:GetAccountPublicAccessBlock",
                "s3:ListAllMyBuckets",
            ],
            "Resource": "*",
        },
        {
            "Sid": "LogBucketSettings",
            "Effect": "Allow",
            "Action": [
                "s3:GetBucketObjectLockConfiguration",
                "s3:GetBucketPolicy",
                "s3:GetBucketPublicAccessBlock",
                "s3:GetBucketVersioning",
            ],
            "Resource": "arn:aws:s3:::*",
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def remediation_policy(account_id: str = "<account-id>", region: str = "*") -> dict[str, Any]:
    """What :func:`~trailkit.aws.revoke_open_ingress` needs: read groups, revoke ingress rules.

    >>> remediation_policy("111122223333")["Statement"][1]["Action"]
    'ec2:RevokeSecurityGroupIngress'
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadSecurityGroups",
                "Effect": "Allow",
                "Action": ["ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups"],
                "Resource": "*",
            },
            {
                "Sid": "RevokeIngressOnly",
                "Effect": "Allow",
                "Action": "ec2:RevokeSecurityGroupIngress",
                "Resource": f"arn:aws:ec2:{region}:{account_id}:security-group/*",
            },
        ],
    }
