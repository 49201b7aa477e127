"""Who deleted the bucket: every ``DeleteBucket``, with the access changes around it.

One pipeline of polars expressions over the normalised events (filter → extract the bucket →
describe the change → attribute the caller), kept in one place so it can be translated for
Athena later.

>>> import trailkit
>>> ev = trailkit.normalize_records([{"eventTime": "2026-03-10T09:05:00Z", "eventID": "d1",
...   "eventName": "DeleteBucket", "eventSource": "s3.amazonaws.com",
...   "requestParameters": {"bucketName": "logs"},
...   "userIdentity": {"type": "IAMUser", "userName": "alice"}}])
>>> who_deleted_bucket(ev).select("bucket", "actor", "success").row(0)
('logs', 'alice', True)
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from trailkit.attribution import ATTRIBUTION_COLUMNS, attribute
from trailkit.scenarios._common import CORE_COLUMNS, jpath, nonempty, require_columns

S = pl.String

#: bucket-level S3 calls shown beside the deletion (management events, logged by default).
BUCKET_EVENTS: tuple[str, ...] = (
    "DeleteBucket",
    "PutBucketPolicy",
    "DeleteBucketPolicy",
    "PutBucketAcl",
    "PutBucketPublicAccessBlock",
    "DeleteBucketPublicAccessBlock",
    "PutBucketOwnershipControls",
    "DeleteBucketOwnershipControls",
)

#: the output columns, in order.
COLUMNS: tuple[str, ...] = (
    "event_time",
    "bucket",
    "event_name",
    "change",
    "opens_public_access",
    "success",
    "error_code",
    "error_message",
    "actor",
    "identity_type",
    "principal_arn",
    "access_key_id",
    *ATTRIBUTION_COLUMNS,
    "source_ip",
    "user_agent",
    "aws_region",
    "recipient_account_id",
    "vpc_endpoint_id",
    "bucket_from",
    "event_id",
)

_PAB_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
_PUBLIC_PRINCIPAL = r'"(?:Principal|AWS)"\s*:\s*(?:"\*"|\[[^\]]*"\*"[^\]]*\])'
_PUBLIC_GRANTEE = r"acs\.amazonaws\.com/groups/global/(?:AllUsers|AuthenticatedUsers)"
_PUBLIC_CANNED = r'"x-amz-acl"\s*:\s*\[?\s*"(?:public-read|public-read-write|authenticated-read)"'


def bucket_name() -> pl.Expr:
    """The bucket an S3 event is about: ``requestParameters.bucketName``, else ``resources[].ARN``.

    >>> import trailkit
    >>> ev = trailkit.normalize_records([{"eventTime": "2026-03-10T09:05:00Z",
    ...   "eventName": "DeleteBucket", "requestParameters": {"bucketName": ""},
    ...   "resources": [{"ARN": "arn:aws:s3:::from-resources", "type": "AWS::S3::Bucket"}]}])
    >>> ev.select(bucket_name()).item()
    'from-resources'
    """
    return pl.coalesce(
        jpath("request_parameters", "$.bucketName"),
        nonempty(pl.col("resources").str.extract(r'arn:aws[\w-]*:s3:::([^/"]+)', 1)),
    )


def _change() -> tuple[pl.Expr, pl.Expr]:
    """(readable change, opens_public_access) for the bucket events."""
    name = pl.col("event_name")
    rp = pl.col("request_parameters").fill_null("")
    ok = pl.col("success").fill_null(True)
    policy = pl.coalesce(jpath("request_parameters", "$.bucketPolicy"), pl.lit(""))
    public_policy = policy.str.contains(_PUBLIC_PRINCIPAL) & policy.str.contains(
        r'"Effect"\s*:\s*"Allow"'
    )
    public_acl = rp.str.contains(_PUBLIC_GRANTEE) | rp.str.contains(_PUBLIC_CANNED)
    flags_off = pl.concat_list(
        [
            pl.when(
                jpath(
                    "request_parameters", f"$.PublicAccessBlockConfiguration.{f}"
                ).str.to_lowercase()
                == "false"
            ).then(pl.lit(f"{f}=false"))
            for f in _PAB_FLAGS
        ]
    ).list.drop_nulls()
    weakened = flags_off.list.len() > 0
    change = (
        pl.when(name == "DeleteBucket")
        .then(pl.lit("bucket deleted"))
        .when((name == "PutBucketPolicy") & public_policy)
        .then(pl.lit("bucket policy set: allows Principal * (public unless a Condition limits it)"))
        .when(name == "PutBucketPolicy")
        .then(pl.lit("bucket policy set"))
        .when(name == "DeleteBucketPolicy")
        .then(pl.lit("bucket policy removed"))
        .when((name == "PutBucketAcl") & public_acl)
        .then(pl.lit("bucket ACL set: grants AllUsers/AuthenticatedUsers"))
        .when(name == "PutBucketAcl")
        .then(pl.lit("bucket ACL set"))
        .when((name == "PutBucketPublicAccessBlock") & weakened)
        .then(pl.concat_str(pl.lit("public access block weakened: "), flags_off.list.join(", ")))
        .when(name == "PutBucketPublicAccessBlock")
        .then(pl.lit("public access block set (all flags on)"))
        .when(name == "DeleteBucketPublicAccessBlock")
        .then(pl.lit("public access block removed"))
        .when(name == "PutBucketOwnershipControls")
        .then(pl.lit("object ownership controls set"))
        .when(name == "DeleteBucketOwnershipControls")
        .then(pl.lit("object ownership controls removed"))
        .otherwise(name)
    )
    change = (
        pl.when(ok)
        .then(change)
        .otherwise(
            pl.concat_str(
                pl.lit("FAILED: "),
                change,
                pl.lit(" ("),
                pl.col("error_code").fill_null("error"),
                pl.lit(")"),
            )
        )
    )
    opens = (
        ((name == "PutBucketPolicy") & public_policy)
        | ((name == "PutBucketAcl") & public_acl)
        | ((name == "PutBucketPublicAccessBlock") & weakened)
        | (name == "DeleteBucketPublicAccessBlock")
    ).fill_null(False)
    return change, opens


def who_deleted_bucket(
    events: pl.DataFrame,
    bucket: str | Sequence[str] | None = None,
    *,
    related: bool = True,
) -> pl.DataFrame:
    """Every ``DeleteBucket`` (successful or not) and the access changes on the same buckets.

    Parameters
    ----------
    events
        Normalised events (``trailkit.read_events`` / ``normalize_records``). Include the STS
        events (``AssumeRole`` ...) so that sessions can be traced to the person behind them.
    bucket
        A bucket name (or several) to look at; all events in :data:`BUCKET_EVENTS` on it are
        shown even if it was never deleted. Default: every bucket with a ``DeleteBucket`` call.
    related
        Also show the policy / ACL / public-access-block / ownership changes (and failed
        attempts) on those buckets, not only the deletions.

    Returns
    -------
    polars.DataFrame
        One row per event, sorted by ``event_time``, with columns :data:`COLUMNS`:

        - ``event_time``, ``bucket``, ``event_name``
        - ``change`` — readable description (``"bucket deleted"``, ``"public access block
          weakened: BlockPublicPolicy=false"``, ``"FAILED: bucket deleted (BucketNotEmpty)"``)
        - ``opens_public_access`` — a policy allowing ``Principal *``, a public ACL grant or
          canned ACL, a public access block with a flag off, or the block removed
        - ``success``, ``error_code``, ``error_message``
        - who: ``actor``, ``identity_type``, ``principal_arn``, ``access_key_id`` and the
          attribution columns of :func:`trailkit.attribute` (``session_started_by`` names the
          person behind a role session when the logs allow it; ``attribution_note`` says
          what is missing when they do not)
        - where from: ``source_ip``, ``user_agent``, ``aws_region``, ``recipient_account_id``,
          ``vpc_endpoint_id``
        - ``bucket_from`` — ``request_parameters`` or ``resources``; ``event_id`` (evidence)

    Examples
    --------
    >>> import trailkit
    >>> ev = trailkit.normalize_records([{"eventTime": "2026-03-10T09:00:00Z",
    ...   "eventName": "DeleteBucket", "errorCode": "BucketNotEmpty",
    ...   "requestParameters": {"bucketName": "b"}, "userIdentity": {"type": "Root"}}])
    >>> who_deleted_bucket(ev, "b")["change"].item()
    'FAILED: bucket deleted (BucketNotEmpty)'
    """
    require_columns(
        events,
        (*CORE_COLUMNS, "resources", "error_message", "vpc_endpoint_id"),
        "who_deleted_bucket",
    )
    names = BUCKET_EVENTS if related else ("DeleteBucket",)
    rows = events.filter(pl.col("event_name").is_in(names)).with_columns(
        bucket_name().alias("bucket"),
        pl.when(jpath("request_parameters", "$.bucketName").is_not_null())
        .then(pl.lit("request_parameters"))
        .when(pl.col("resources").is_not_null())
        .then(pl.lit("resources"))
        .otherwise(None)
        .alias("bucket_from"),
    )
    if bucket is None:
        deleted = (
            rows.filter(pl.col("event_name") == "DeleteBucket")["bucket"].drop_nulls().unique()
        )
        rows = rows.filter(
            (pl.col("event_name") == "DeleteBucket") | pl.col("bucket").is_in(deleted.implode())
        )
    else:
        wanted = [bucket] if isinstance(bucket, str) else list(bucket)
        rows = rows.filter(pl.col("bucket").is_in(wanted))
    change, opens = _change()
    rows = rows.with_columns(change.alias("change"), opens.alias("opens_public_access"))
    rows = attribute(rows, context=events)
    return rows.select(COLUMNS).sort("event_time", "event_id", nulls_last=True)
