"""The normalised event schema: every column trailkit produces, defined once.

Each column has a polars dtype and a one-line meaning. Loaders, identity
normalisation, scenarios and charts use these names and nothing else; the
README's schema table is generated from :data:`COLUMNS` (see
:func:`schema_markdown`).

Examples
--------
>>> from trailkit.schema import COLUMNS, SCHEMA
>>> SCHEMA["event_time"]
Datetime(time_unit='us', time_zone='UTC')
>>> COLUMNS["actor"].meaning.startswith("one human-readable name")
True
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

UTC_TIME = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class Column:
    """One column of the normalised schema."""

    name: str
    dtype: pl.DataType
    meaning: str
    source: str = ""  # the CloudTrail field it comes from, when there is one


def _cols(*cols: Column) -> dict[str, Column]:
    return {c.name: c for c in cols}


S = pl.String()
B = pl.Boolean()

COLUMNS: dict[str, Column] = _cols(
    # -- the record's own fields -------------------------------------------------
    Column("event_time", UTC_TIME, "when the request completed, timezone-aware UTC", "eventTime"),
    Column("event_id", S, "unique id of the event; the de-duplication key with recipient_account_id", "eventID"),
    Column("event_name", S, "the API action, e.g. DeleteBucket", "eventName"),
    Column("event_source", S, "the service endpoint, e.g. s3.amazonaws.com", "eventSource"),
    Column("event_type", S, "AwsApiCall, AwsConsoleSignIn, AwsServiceEvent, ...", "eventType"),
    Column("event_category", S, "Management, Data, NetworkActivity or Insight", "eventCategory"),
    Column("event_version", S, "record format version, e.g. 1.08", "eventVersion"),
    Column("aws_region", S, "region the request was made to", "awsRegion"),
    Column("read_only", B, "true for read-only calls (accepts JSON or string booleans)", "readOnly"),
    Column("management_event", B, "true for management events", "managementEvent"),
    Column("recipient_account_id", S, "account that received this copy of the event", "recipientAccountId"),
    Column("request_id", S, "the service's request id", "requestID"),
    Column("shared_event_id", S, "id shared by copies of one action delivered to several accounts", "sharedEventID"),
    Column("vpc_endpoint_id", S, "VPC endpoint the request came through", "vpcEndpointId"),
    Column("vpc_endpoint_account_id", S, "account owning that VPC endpoint", "vpcEndpointAccountId"),
    Column("api_version", S, "API version of the call, when given", "apiVersion"),
    Column("source_ip", S, "caller address; may be a service name such as ec2.amazonaws.com, not an IP", "sourceIPAddress"),
    Column("user_agent", S, "the caller's user agent (attacker-controlled text)", "userAgent"),
    Column("error_code", S, "error code; null when absent or empty", "errorCode"),
    Column("error_message", S, "error message; null when absent or empty (attacker-controlled text)", "errorMessage"),
    Column("success", B, "false when errorCode or errorMessage is present and non-empty", ""),
    Column("session_credential_from_console", B, "true when the session credentials came from the console", "sessionCredentialFromConsole"),
    # -- userIdentity, as given ----------------------------------------------------
    Column("identity_type", S, "userIdentity.type as given (Root, IAMUser, AssumedRole, ...); null when absent", "userIdentity.type"),
    Column("principal_id", S, "userIdentity.principalId", "userIdentity.principalId"),
    Column("principal_arn", S, "userIdentity.arn", "userIdentity.arn"),
    Column("account_id", S, "userIdentity.accountId, else the account in the ARN", "userIdentity.accountId"),
    Column("access_key_id", S, "userIdentity.accessKeyId (AKIA long-term, ASIA temporary); null when empty", "userIdentity.accessKeyId"),
    Column("user_name", S, "userIdentity.userName", "userIdentity.userName"),
    Column("invoked_by", S, "userIdentity.invokedBy: the AWS service that made the call", "userIdentity.invokedBy"),
    Column("identity_provider", S, "userIdentity.identityProvider (SAML / web identity issuer)", "userIdentity.identityProvider"),
    Column("on_behalf_of_user_id", S, "userIdentity.onBehalfOf.userId (Identity Center user)", "userIdentity.onBehalfOf.userId"),
    Column("identity_store_arn", S, "userIdentity.onBehalfOf.identityStoreArn", "userIdentity.onBehalfOf.identityStoreArn"),
    Column("credential_id", S, "userIdentity.credentialId (bearer-token callers)", "userIdentity.credentialId"),
    # -- derived identity -------------------------------------------------------
    Column("session_name", S, "for assumed-role sessions, the role session name (last part of the assumed-role ARN)", ""),
    Column("role_arn", S, "for sessions, the session issuer ARN (sessionContext.sessionIssuer.arn), else null", "userIdentity.sessionContext.sessionIssuer.arn"),
    Column("role_name", S, "for sessions, the session issuer name (sessionContext.sessionIssuer.userName), else null", "userIdentity.sessionContext.sessionIssuer.userName"),
    Column("issuer_type", S, "session issuer type: Role, IAMUser or Root", "userIdentity.sessionContext.sessionIssuer.type"),
    Column("mfa_authenticated", B, "sessionContext.attributes.mfaAuthenticated (case-insensitive), or MFAUsed for ConsoleLogin", ""),
    Column("session_created", UTC_TIME, "sessionContext.attributes.creationDate as UTC datetime", "userIdentity.sessionContext.attributes.creationDate"),
    Column("source_identity", S, "sessionContext.sourceIdentity (STS source identity)", "userIdentity.sessionContext.sourceIdentity"),
    Column("assumed_root", B, "true for sessions made by sts:AssumeRoot", "userIdentity.sessionContext.assumedRoot"),
    Column("actor", S, "one human-readable name for who made the call (see identity.py for the rules)", ""),
    # -- raw blocks, as JSON text -------------------------------------------------
    Column("user_identity", pl.Categorical(), "the raw userIdentity block as JSON text (null when absent; categorical: it repeats for every call of a session)", "userIdentity"),
    Column("request_parameters", S, "the raw requestParameters block as JSON text (null when absent)", "requestParameters"),
    Column("response_elements", S, "the raw responseElements block as JSON text (null when absent)", "responseElements"),
    Column("additional_event_data", S, "the raw additionalEventData block as JSON text (null when absent)", "additionalEventData"),
    Column("resources", S, "the raw resources array as JSON text (null when absent)", "resources"),
    Column("service_event_details", S, "the raw serviceEventDetails block as JSON text", "serviceEventDetails"),
    Column("tls_details", pl.Categorical(), "the raw tlsDetails block as JSON text (categorical: few distinct values)", "tlsDetails"),
    Column("addendum", S, "the raw addendum block as JSON text", "addendum"),
    Column("insight_details", S, "the raw insightDetails block as JSON text (Insights events)", "insightDetails"),
    Column("extra_fields", S, "any other top-level fields of the record, as a JSON object (null when none)", ""),
    # -- provenance --------------------------------------------------------------
    Column("source_file", pl.Categorical(), "the file (or URL / API call) the event was read from (categorical: few distinct values)", ""),
)

#: name -> dtype, in column order; pass to ``pl.DataFrame(schema=SCHEMA)``.
SCHEMA: dict[str, pl.DataType] = {c.name: c.dtype for c in COLUMNS.values()}

#: the raw-JSON text columns.
RAW_COLUMNS: tuple[str, ...] = (
    "user_identity",
    "request_parameters",
    "response_elements",
    "additional_event_data",
    "resources",
    "service_event_details",
    "tls_details",
    "addendum",
    "insight_details",
    "extra_fields",
)

#: the columns that together identify one event (CloudTrail's duplicate rule).
DEDUP_KEY: tuple[str, ...] = ("event_id", "recipient_account_id")


def empty_frame() -> pl.DataFrame:
    """An empty frame with the full normalised schema.

    >>> empty_frame().height
    0
    """
    return pl.DataFrame(schema=SCHEMA)


def conform(df: pl.DataFrame) -> pl.DataFrame:
    """Return ``df`` with exactly the schema's columns, in order, with the schema's dtypes.

    Missing columns are added as nulls; extra columns are kept at the end.

    >>> conform(pl.DataFrame({"event_name": ["DeleteBucket"]})).columns[:2]
    ['event_time', 'event_id']
    """
    exprs = [
        (pl.col(name).cast(dtype) if name in df.columns else pl.lit(None, dtype=dtype)).alias(name)
        for name, dtype in SCHEMA.items()
    ]
    extra = [c for c in df.columns if c not in SCHEMA]
    return df.select(*exprs, *extra)


def schema_markdown() -> str:
    """The schema as a Markdown table (used for the README / docs).

    >>> schema_markdown().splitlines()[0]
    '| column | dtype | meaning | from |'
    """
    lines = ["| column | dtype | meaning | from |", "|---|---|---|---|"]
    for c in COLUMNS.values():
        src = f"`{c.source}`" if c.source else ""
        lines.append(f"| `{c.name}` | {c.dtype} | {c.meaning} | {src} |")
    return "\n".join(lines)
