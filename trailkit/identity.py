"""``userIdentity`` → normalised identity columns, as vectorised polars expressions.

Every ``userIdentity.type`` CloudTrail documents is handled (Root, IAMUser, AssumedRole, Role,
FederatedUser, Directory, AWSAccount, AWSService, IdentityCenterUser, SAMLUser,
WebIdentityUser, Unknown), as are records with no ``userIdentity`` at all, empty
``sessionIssuer`` objects, empty strings and string booleans. The rules for ``actor`` (one
readable name per event):

=====================  ==========================================================
type                   actor
=====================  ==========================================================
Root                   ``root``
IAMUser                ``userName``
AssumedRole            ``<role name>/<session name>``
FederatedUser          the federated user's name (from the ARN or principalId)
SAMLUser, WebIdentity  ``userName``, else ``principalId``
IdentityCenterUser     ``userName`` where the event carries one, else ``onBehalfOf.userId``
AWSService             ``invokedBy``
AWSAccount             ``principalId``, else ``accountId``
anything else          ``userName``, else ``principalId``, else null
=====================  ==========================================================

>>> import polars as pl
>>> from trailkit import normalize_records
>>> normalize_records([{"eventTime": "2026-03-10T14:05:32Z", "eventName": "PutObject",
...   "userIdentity": {"type": "AssumedRole",
...     "arn": "arn:aws:sts::111122223333:assumed-role/Dev/alice",
...     "sessionContext": {"sessionIssuer": {"userName": "Dev"}}}}])["actor"].item()
'Dev/alice'
"""

from __future__ import annotations

import polars as pl
import polars.selectors as cs

S = pl.String

#: the parts of ``userIdentity`` trailkit reads into columns; everything else stays in the raw
#: ``user_identity`` JSON text column.
USER_IDENTITY_DTYPE = pl.Struct(
    {
        "type": S,
        "principalId": S,
        "arn": S,
        "accountId": S,
        "accessKeyId": S,
        "userName": S,
        "invokedBy": S,
        "identityProvider": S,
        "credentialId": S,
        "onBehalfOf": pl.Struct({"userId": S, "identityStoreArn": S}),
        "sessionContext": pl.Struct(
            {
                "attributes": pl.Struct({"mfaAuthenticated": S, "creationDate": S}),
                "sessionIssuer": pl.Struct(
                    {"type": S, "principalId": S, "arn": S, "accountId": S, "userName": S}
                ),
                "sourceIdentity": S,
                "assumedRoot": S,
            }
        ),
    }
)


def nonempty(expr: pl.Expr) -> pl.Expr:
    """``expr`` with empty strings turned into null.

    >>> pl.select(nonempty(pl.lit(""))).item() is None
    True
    """
    return pl.when(expr == "").then(None).otherwise(expr)


def parse_bool(expr: pl.Expr, true: str = "true", false: str = "false") -> pl.Expr:
    """Case-insensitive string boolean → Boolean (anything else → null).

    >>> pl.select(parse_bool(pl.lit("True"))).item()
    True
    """
    low = expr.str.strip_chars().str.to_lowercase()
    return pl.when(low == true).then(True).when(low == false).then(False).otherwise(None)


_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S%.fZ", "%Y-%m-%d %H:%M:%S%.f", "%Y%m%dT%H%M%SZ",
                 "%Y-%m-%dT%H:%M:%S%.f%:z")


def parse_utc(expr: pl.Expr, *, full: bool = True) -> pl.Expr:
    """ISO-8601 UTC text → ``Datetime('us', 'UTC')``; accepts the forms CloudTrail writes.

    ``2026-03-10T14:05:32Z`` (trails), with fractional seconds (EventBridge, Lake),
    ``2026-03-10 14:05:32.000`` (Lake query output), basic ``20260310T140532Z`` (some
    ``creationDate`` values) and explicit offsets. Anything else becomes null. With
    ``full=False`` only the trail form is tried (five times faster); the loader uses that
    first and re-parses the few rows it leaves null.

    >>> pl.select(parse_utc(pl.lit("2026-03-10T14:05:32Z"))).item().isoformat()
    '2026-03-10T14:05:32+00:00'
    """
    fast = expr.str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%SZ", strict=False)
    if not full:
        return fast.dt.replace_time_zone("UTC")
    e = expr.str.strip_chars()
    slow = [e.str.strptime(pl.Datetime("us", "UTC"), f, strict=False).dt.replace_time_zone(None)
            if f.endswith("z") else e.str.strptime(pl.Datetime("us"), f, strict=False)
            for f in _TIME_FORMATS]
    return pl.coalesce(fast, *slow).dt.replace_time_zone("UTC")


def identity_columns(frame: pl.LazyFrame, ui: str = "_ui", event_name: str = "eventName",
                     additional_event_data: str = "additionalEventData", *,
                     full_times: bool = True) -> pl.LazyFrame:
    """Add the normalised identity columns to ``frame`` from its ``userIdentity`` struct column.

    ``ui`` names a column of dtype :data:`USER_IDENTITY_DTYPE` (null when the record has no
    ``userIdentity``). Adds ``identity_type``, ``principal_id``, ``principal_arn``,
    ``account_id``, ``access_key_id``, ``user_name``, ``invoked_by``, ``identity_provider``,
    ``on_behalf_of_user_id``, ``identity_store_arn``, ``credential_id``, ``session_name``,
    ``role_arn``, ``role_name``, ``issuer_type``, ``mfa_authenticated``, ``session_created``,
    ``source_identity``, ``assumed_root`` and ``actor``. Work is staged so that nothing is
    computed twice; temporary columns start with ``_id_`` and are dropped. ``full_times=False``
    parses ``creationDate`` in the usual form only (see :func:`parse_utc`).

    >>> lf = pl.LazyFrame({"_ui": [{"type": "Root"}], "eventName": ["x"],
    ...                    "additionalEventData": [None]},
    ...                   schema={"_ui": USER_IDENTITY_DTYPE, "eventName": pl.String,
    ...                           "additionalEventData": pl.String})
    >>> identity_columns(lf).select("actor").collect().item()
    'root'
    """
    f = pl.col(ui).struct.field
    sc = f("sessionContext").struct.field
    issuer = sc("sessionIssuer").struct.field
    attrs = sc("attributes").struct.field
    # stage 1: the leaves, empty strings made null
    frame = frame.with_columns(
        nonempty(f("type")).alias("identity_type"),
        nonempty(f("principalId")).alias("principal_id"),
        nonempty(f("arn")).alias("principal_arn"),
        nonempty(f("accountId")).alias("_id_account"),
        nonempty(f("accessKeyId")).alias("access_key_id"),
        nonempty(f("userName")).alias("user_name"),
        nonempty(f("invokedBy")).alias("invoked_by"),
        nonempty(f("identityProvider")).alias("identity_provider"),
        nonempty(f("onBehalfOf").struct.field("userId")).alias("on_behalf_of_user_id"),
        nonempty(f("onBehalfOf").struct.field("identityStoreArn")).alias("identity_store_arn"),
        nonempty(f("credentialId")).alias("credential_id"),
        nonempty(issuer("arn")).alias("role_arn"),
        nonempty(issuer("userName")).alias("role_name"),
        nonempty(issuer("type")).alias("issuer_type"),
        parse_bool(attrs("mfaAuthenticated")).alias("_id_mfa"),
        parse_utc(attrs("creationDate"), full=full_times).alias("session_created"),
        nonempty(sc("sourceIdentity")).alias("source_identity"),
        parse_bool(sc("assumedRoot")).alias("assumed_root"),
        pl.col(additional_event_data).str.extract(r'"MFAUsed"\s*:\s*"([^"]*)"', 1).alias("_id_mfa_used"),
    )
    # stage 2: split the ARN (arn:partition:service:region:account:resource) and principalId
    typ = pl.col("identity_type")
    frame = frame.with_columns(
        pl.col("principal_arn").str.splitn(":", 6).alias("_id_arn"),
        nonempty(pl.col("principal_id").str.extract(r"([^:]*)$", 1)).alias("_id_ptail"),
    ).with_columns(
        pl.col("_id_arn").struct.field("field_5").alias("_id_res"),
        nonempty(pl.col("_id_arn").struct.field("field_4")).alias("_id_arn_account"),
    ).with_columns(
        pl.col("_id_res").str.splitn("/", 3).alias("_id_res_parts"),
        pl.col("_id_res").str.starts_with("assumed-role/").alias("_id_is_session"),
    )
    res_kind = pl.col("_id_res_parts").struct.field("field_0")
    res_1 = nonempty(pl.col("_id_res_parts").struct.field("field_1"))
    res_last = nonempty(pl.col("_id_res").str.extract(r"([^/]*)$", 1))
    is_session = pl.col("_id_is_session")
    frame = frame.with_columns(
        pl.when(is_session | (typ == "AssumedRole"))
        .then(pl.coalesce(pl.when(is_session).then(res_last), pl.col("_id_ptail")))
        .alias("session_name"),
        pl.coalesce(pl.col("role_name"), pl.when(is_session).then(res_1)).alias("_id_role"),
        pl.when(res_kind.is_in(["federated-user", "user"])).then(res_last).alias("_id_res_name"),
    )
    user, principal = pl.col("user_name"), pl.col("principal_id")
    session, role = pl.col("session_name"), pl.col("_id_role")
    actor = (
        pl.when(typ == "Root").then(pl.lit("root"))
        .when(typ == "IAMUser").then(pl.coalesce(user, pl.col("_id_res_name"), principal))
        .when(typ == "AssumedRole").then(
            pl.when(role.is_not_null() & session.is_not_null())
            .then(pl.concat_str(role, pl.lit("/"), session))
            .otherwise(pl.coalesce(role, session, principal)))
        .when(typ == "FederatedUser").then(pl.coalesce(pl.col("_id_res_name"), pl.col("_id_ptail"), user, principal))
        .when(typ.is_in(["SAMLUser", "WebIdentityUser"])).then(pl.coalesce(user, principal))
        .when(typ == "IdentityCenterUser").then(pl.coalesce(user, pl.col("on_behalf_of_user_id"), principal))
        .when(typ == "AWSService").then(pl.coalesce(pl.col("invoked_by"), principal))
        .when(typ == "AWSAccount").then(pl.coalesce(principal, pl.col("_id_account")))
        .otherwise(pl.coalesce(user, principal))
    )
    mfa = (
        pl.when(pl.col(event_name) == "ConsoleLogin")
        .then(pl.coalesce(parse_bool(pl.col("_id_mfa_used"), "yes", "no"), pl.col("_id_mfa")))
        .otherwise(pl.col("_id_mfa"))
    )
    frame = frame.with_columns(
        actor.alias("actor"),
        mfa.alias("mfa_authenticated"),
        pl.coalesce(pl.col("_id_account"), pl.col("_id_arn_account")).alias("account_id"),
    )
    return frame.drop(cs.starts_with("_id_"))
