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
    """``expr`` with empty (or all-space) strings turned into null.

    >>> pl.select(nonempty(pl.lit(" "))).item() is None
    True
    """
    return pl.when(expr.str.strip_chars() == "").then(None).otherwise(expr)


def parse_bool(expr: pl.Expr, true: str = "true", false: str = "false") -> pl.Expr:
    """Case-insensitive string boolean → Boolean (anything else → null).

    >>> pl.select(parse_bool(pl.lit("True"))).item()
    True
    """
    low = expr.str.strip_chars().str.to_lowercase()
    return pl.when(low == true).then(True).when(low == false).then(False).otherwise(None)


def parse_utc(expr: pl.Expr) -> pl.Expr:
    """ISO-8601 UTC text → ``Datetime('us', 'UTC')``; accepts the forms CloudTrail writes.

    ``2026-03-10T14:05:32Z`` (trails), with fractional seconds (EventBridge, Lake),
    ``2026-03-10 14:05:32.000`` (Lake query output) and basic ``20260310T140532Z``
    (some ``creationDate`` values). Anything else becomes null.

    >>> pl.select(parse_utc(pl.lit("2026-03-10T14:05:32Z"))).item().isoformat()
    '2026-03-10T14:05:32+00:00'
    """
    e = expr.str.strip_chars()
    return pl.coalesce(
        e.str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%SZ", strict=False),
        e.str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S%.fZ", strict=False),
        e.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S%.f", strict=False),
        e.str.strptime(pl.Datetime("us"), "%Y%m%dT%H%M%SZ", strict=False),
    ).dt.replace_time_zone("UTC")


def identity_columns(ui: pl.Expr, event_name: pl.Expr, additional_event_data: pl.Expr) -> list[pl.Expr]:
    """The normalised identity columns from a ``userIdentity`` struct expression.

    ``ui`` must have dtype :data:`USER_IDENTITY_DTYPE` (null when the record has no
    ``userIdentity``). Returns named expressions for ``identity_type``, ``principal_id``,
    ``principal_arn``, ``account_id``, ``access_key_id``, ``user_name``, ``invoked_by``,
    ``identity_provider``, ``on_behalf_of_user_id``, ``identity_store_arn``, ``credential_id``,
    ``session_name``, ``role_arn``, ``role_name``, ``issuer_type``, ``mfa_authenticated``,
    ``session_created``, ``source_identity``, ``assumed_root`` and ``actor``.

    >>> len(identity_columns(pl.col("ui"), pl.col("e"), pl.col("a")))
    20
    """
    f = ui.struct.field
    sc = f("sessionContext").struct.field
    issuer = sc("sessionIssuer").struct.field
    attrs = sc("attributes").struct.field

    typ = nonempty(f("type"))
    principal = nonempty(f("principalId"))
    arn = nonempty(f("arn"))
    user = nonempty(f("userName"))
    invoked = nonempty(f("invokedBy"))
    obo_user = nonempty(f("onBehalfOf").struct.field("userId"))
    role_arn = nonempty(issuer("arn"))
    role_name = nonempty(issuer("userName"))

    arn_parts = arn.str.split(":")
    arn_resource = arn_parts.list.get(5, null_on_oob=True)
    arn_account = nonempty(arn_parts.list.get(4, null_on_oob=True))
    principal_tail = nonempty(principal.str.split(":").list.get(-1, null_on_oob=True))
    is_session_arn = arn_resource.str.starts_with("assumed-role/")
    # assumed-role/<role>/<session>: the session name may itself contain "/"? No: IAM forbids it.
    arn_role = arn_resource.str.split("/").list.get(1, null_on_oob=True)
    arn_session = arn_resource.str.split("/").list.get(-1, null_on_oob=True)
    session_name = (
        pl.when(is_session_arn | (typ == "AssumedRole"))
        .then(pl.coalesce(pl.when(is_session_arn).then(nonempty(arn_session)), principal_tail))
        .otherwise(None)
    )
    federated_name = pl.coalesce(
        pl.when(arn_resource.str.starts_with("federated-user/")).then(
            nonempty(arn_resource.str.split("/").list.get(-1, null_on_oob=True))
        ),
        principal_tail,
    )
    assumed_role_name = pl.coalesce(role_name, pl.when(is_session_arn).then(nonempty(arn_role)))

    actor = (
        pl.when(typ == "Root")
        .then(pl.lit("root"))
        .when(typ == "IAMUser")
        .then(pl.coalesce(user, pl.when(arn_resource.str.starts_with("user/")).then(
            arn_resource.str.split("/").list.get(-1, null_on_oob=True)), principal))
        .when(typ == "AssumedRole")
        .then(
            pl.when(assumed_role_name.is_not_null() & session_name.is_not_null())
            .then(pl.concat_str(assumed_role_name, pl.lit("/"), session_name))
            .otherwise(pl.coalesce(assumed_role_name, session_name, principal))
        )
        .when(typ == "FederatedUser")
        .then(pl.coalesce(federated_name, user, principal))
        .when(typ.is_in(["SAMLUser", "WebIdentityUser"]))
        .then(pl.coalesce(user, principal))
        .when(typ == "IdentityCenterUser")
        .then(pl.coalesce(user, obo_user, principal))
        .when(typ == "AWSService")
        .then(pl.coalesce(invoked, principal))
        .when(typ == "AWSAccount")
        .then(pl.coalesce(principal, nonempty(f("accountId"))))
        .otherwise(pl.coalesce(user, principal))
    )

    mfa_used = additional_event_data.str.extract(r'"MFAUsed"\s*:\s*"([^"]*)"', 1)
    mfa = (
        pl.when(event_name == "ConsoleLogin")
        .then(pl.coalesce(parse_bool(mfa_used, "yes", "no"), parse_bool(attrs("mfaAuthenticated"))))
        .otherwise(parse_bool(attrs("mfaAuthenticated")))
    )

    return [
        typ.alias("identity_type"),
        principal.alias("principal_id"),
        arn.alias("principal_arn"),
        pl.coalesce(nonempty(f("accountId")), arn_account).alias("account_id"),
        nonempty(f("accessKeyId")).alias("access_key_id"),
        user.alias("user_name"),
        invoked.alias("invoked_by"),
        nonempty(f("identityProvider")).alias("identity_provider"),
        obo_user.alias("on_behalf_of_user_id"),
        nonempty(f("onBehalfOf").struct.field("identityStoreArn")).alias("identity_store_arn"),
        nonempty(f("credentialId")).alias("credential_id"),
        session_name.alias("session_name"),
        role_arn.alias("role_arn"),
        role_name.alias("role_name"),
        nonempty(issuer("type")).alias("issuer_type"),
        mfa.alias("mfa_authenticated"),
        parse_utc(attrs("creationDate")).alias("session_created"),
        nonempty(sc("sourceIdentity")).alias("source_identity"),
        parse_bool(sc("assumedRoot")).alias("assumed_root"),
        actor.alias("actor"),
    ]
