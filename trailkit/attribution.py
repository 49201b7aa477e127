"""Who is behind a session: follow temporary credentials back to the identity that obtained them.

An assumed-role session (``S3AdminRole/cleanup-job``) is not a person. CloudTrail records
the call that created it: ``AssumeRole`` (and ``AssumeRoleWithSAML``,
``AssumeRoleWithWebIdentity``, ``GetFederationToken``, ``GetSessionToken``, ``AssumeRoot``)
returns the temporary access key in ``responseElements.credentials.accessKeyId``, and every
later call made with those credentials carries the same key in ``userIdentity.accessKeyId``.
:func:`attribute` joins each session event to the event that issued its key, then follows the
issuer back through role chains (a session that assumed another role) to the first identity
that is not a session: an IAM user, root, a SAML or web-identity subject, another account or
an AWS service. The event ids along the way are kept as evidence.

How a session is linked (``attribution_method``):

==================  ============================================================================
method              meaning
==================  ============================================================================
``direct``          the caller is not a session (IAM user, root, ...): the caller *is* the person
``access_key``      the session's temporary key was found in an issuing event's response
``session_name+role``  no key to match: the session ARN (role + session name) equals an issuing
                    event's ``assumedRoleUser.arn`` and the call falls inside that credential's
                    lifetime (weaker: session names can be reused)
``saml``            the chain starts at a SAML subject (``AssumeRoleWithSAML``)
``web_identity``    the chain starts at a web-identity subject (``AssumeRoleWithWebIdentity``)
``source_identity`` no issuing event loaded, but the session carries an STS source identity
``identity_center`` an IAM Identity Center user (``onBehalfOf``, or an ``AWSReservedSSO_*`` role,
                    whose session name is the Identity Center user name)
``session_issuer``  a federated user with no issuing event loaded: the IAM user in
                    ``sessionContext.sessionIssuer`` called ``GetFederationToken``
``aws_service``     an AWS service acted (service-linked role, ``invokedBy``)
``none``            cannot be resolved from the loaded logs; ``attribution_note`` says what to load
==================  ============================================================================

One query, two engines: the whole link is a handful of joins (equality on the key, an as-of
join on the session ARN and time, a bounded self-join for role chains), so the same steps
translate to SQL for Athena.

>>> import trailkit
>>> events = trailkit.normalize_records([
...   {"eventTime": "2026-03-10T09:00:00Z", "eventID": "e1", "eventName": "AssumeRole",
...    "eventSource": "sts.amazonaws.com",
...    "userIdentity": {"type": "IAMUser", "userName": "bob",
...                     "arn": "arn:aws:iam::111122223333:user/bob"},
...    "requestParameters": {"roleArn": "arn:aws:iam::111122223333:role/Admin",
...                          "roleSessionName": "job"},
...    "responseElements": {"credentials": {"accessKeyId": "ASIAEXAMPLE1"},
...        "assumedRoleUser": {"arn": "arn:aws:sts::111122223333:assumed-role/Admin/job"}}},
...   {"eventTime": "2026-03-10T09:05:00Z", "eventID": "e2", "eventName": "DeleteBucket",
...    "userIdentity": {"type": "AssumedRole", "accessKeyId": "ASIAEXAMPLE1",
...        "arn": "arn:aws:sts::111122223333:assumed-role/Admin/job",
...        "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "Admin"}}}}])
>>> out = trailkit.attribute(events)
>>> out.filter(event_id="e2").select("session_started_by", "attribution_chain").row(0)
('bob', 'bob → Admin/job')
"""

from __future__ import annotations

import polars as pl

from trailkit.scenarios._common import jpath, nonempty, require_columns, to_int

S = pl.String()

#: STS calls that hand out temporary credentials.
ISSUING_EVENTS: tuple[str, ...] = (
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
    "GetFederationToken",
    "GetSessionToken",
    "AssumeRoot",
)

#: identity types whose calls are made with temporary session credentials.
SESSION_TYPES: tuple[str, ...] = ("AssumedRole", "FederatedUser")

#: how many role-chain hops are followed at most.
MAX_DEPTH = 10

#: clock slack allowed between an issuing event and the first use of its credentials.
CLOCK_SKEW = pl.duration(seconds=5)

#: the columns :func:`attribute` adds, with their dtypes.
ATTRIBUTION_COLUMNS: dict[str, pl.DataType] = {
    "session_started_by": S,
    "started_by_arn": S,
    "started_by_type": S,
    "attribution_chain": S,
    "attribution_evidence": pl.List(S),
    "attribution_method": S,
    "attribution_note": S,
}

_NEEDED = (
    "event_time",
    "event_id",
    "event_name",
    "success",
    "identity_type",
    "identity_provider",
    "session_created",
    "shared_event_id",
    "principal_id",
    "principal_arn",
    "account_id",
    "access_key_id",
    "user_name",
    "invoked_by",
    "on_behalf_of_user_id",
    "session_name",
    "role_arn",
    "role_name",
    "issuer_type",
    "source_identity",
    "assumed_root",
    "actor",
    "request_parameters",
    "response_elements",
)


def _is_session(typ: pl.Expr, assumed_root: pl.Expr) -> pl.Expr:
    return typ.is_in(SESSION_TYPES).fill_null(False) | assumed_root.fill_null(False)


def _arn_label(arn: pl.Expr) -> pl.Expr:
    """``arn:aws:sts::1:assumed-role/Role/sess`` → ``Role/sess``; federated-user/x → ``x``."""
    res = arn.str.split(":").list.slice(5).list.join(":")
    return (
        pl.when(res.str.starts_with("assumed-role/"))
        .then(res.str.strip_prefix("assumed-role/"))
        .when(res.str.starts_with("federated-user/"))
        .then(res.str.strip_prefix("federated-user/"))
        .otherwise(nonempty(res))
    )


def credential_issuances(events: pl.DataFrame) -> pl.DataFrame:
    """One row per successful STS call that issued temporary credentials.

    Columns: ``iss_event_id``, ``iss_time``, ``iss_event_name``, ``iss_key`` (the temporary
    access key, ``responseElements.credentials.accessKeyId``), ``iss_arn`` (the session it
    created: ``assumedRoleUser.arn`` / ``federatedUser.arn``, or the caller for
    ``GetSessionToken``), ``iss_label`` (readable name of that session), ``iss_expires``
    (``credentials.expiration``, else the requested or default duration), and the caller:
    ``c_type``, ``c_key``, ``c_arn``, ``c_actor``, ``c_is_session``, ``c_source_identity``, plus
    ``origin_name`` / ``origin_arn`` / ``origin_type`` / ``origin_method`` / ``origin_note``
    (filled when the caller is not itself a session).

    >>> import trailkit
    >>> credential_issuances(trailkit.normalize_records([])).height
    0
    """
    require_columns(events, _NEEDED, "credential_issuances")
    re_, rp = "response_elements", "request_parameters"
    name = pl.col("event_name")
    typ = pl.col("identity_type")
    sts = events.filter(name.is_in(ISSUING_EVENTS) & pl.col("success").fill_null(True))

    expiration = jpath(re_, "$.credentials.expiration")
    parsed_exp = pl.coalesce(
        expiration.str.strptime(pl.Datetime("us"), "%b %d, %Y, %I:%M:%S %p", strict=False),
        expiration.str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%SZ", strict=False),
        expiration.str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S%.fZ", strict=False),
    ).dt.replace_time_zone("UTC")
    default_secs = (
        pl.when(name.is_in(["GetFederationToken", "GetSessionToken"])).then(43200).otherwise(3600)
    )
    duration = pl.coalesce(to_int(jpath(rp, "$.durationSeconds")), default_secs)
    expires = pl.coalesce(parsed_exp, pl.col("event_time") + pl.duration(seconds=duration))

    obtained_arn = pl.coalesce(
        jpath(re_, "$.assumedRoleUser.arn"),
        jpath(re_, "$.federatedUser.arn"),
        pl.when(name == "GetSessionToken").then(pl.col("principal_arn")),
    )
    label = pl.coalesce(
        _arn_label(obtained_arn),
        pl.when(name == "GetSessionToken").then(
            pl.concat_str(pl.col("actor"), pl.lit(" (session token)"))
        ),
        pl.when(name == "AssumeRoot").then(
            pl.concat_str(pl.lit("root of "), jpath(rp, "$.targetPrincipal").fill_null("?"))
        ),
        pl.concat_str(
            jpath(rp, "$.roleArn").fill_null("?"),
            pl.lit("/"),
            jpath(rp, "$.roleSessionName").fill_null("?"),
        ),
    )

    saml_subject = pl.coalesce(jpath(re_, "$.subject"), pl.col("user_name"), pl.col("principal_id"))
    web_subject = pl.coalesce(
        jpath(re_, "$.subjectFromWebIdentityToken"), pl.col("user_name"), pl.col("principal_id")
    )
    other_account = pl.concat_str(
        pl.lit("account "),
        pl.col("account_id").fill_null("?"),
        pl.lit(" / "),
        pl.col("principal_id").fill_null("?"),
    )
    origin_name = (
        pl.when(typ == "SAMLUser")
        .then(saml_subject)
        .when(typ == "WebIdentityUser")
        .then(web_subject)
        .when(typ == "AWSAccount")
        .then(other_account)
        .when(typ == "AWSService")
        .then(pl.coalesce(pl.col("invoked_by"), pl.col("actor")))
        .otherwise(pl.col("actor"))
    )
    origin_method = (
        pl.when(typ == "SAMLUser")
        .then(pl.lit("saml"))
        .when(typ == "WebIdentityUser")
        .then(pl.lit("web_identity"))
        .when(typ == "IdentityCenterUser")
        .then(pl.lit("identity_center"))
        .when(typ == "AWSService")
        .then(pl.lit("aws_service"))
        .otherwise(None)
    )
    source_identity = pl.coalesce(jpath(re_, "$.sourceIdentity"), jpath(rp, "$.sourceIdentity"))
    origin_note = (
        pl.when(typ == "SAMLUser")
        .then(
            pl.concat_str(
                pl.lit("SAML subject from identity provider "),
                pl.coalesce(jpath(re_, "$.issuer"), pl.col("identity_provider")).fill_null("?"),
            )
        )
        .when(typ == "WebIdentityUser")
        .then(
            pl.concat_str(
                pl.lit("web-identity subject from "),
                pl.coalesce(jpath(re_, "$.provider"), pl.col("identity_provider")).fill_null("?"),
            )
        )
        .when(typ == "AWSAccount")
        .then(
            pl.concat_str(
                pl.lit(
                    "the role was assumed from another account; that account's CloudTrail names "
                    "the person (the same call has sharedEventID "
                ),
                pl.coalesce(pl.col("shared_event_id"), pl.col("event_id")).fill_null("?"),
                pl.lit(" there)"),
                pl.when(source_identity.is_not_null())
                .then(pl.concat_str(pl.lit("; source identity "), source_identity))
                .otherwise(pl.lit("")),
            )
        )
        .otherwise(None)
    )

    # an issuing event without an eventID still needs an id for the joins below
    sts = sts.with_row_index("_i")
    event_id = pl.coalesce(
        pl.col("event_id"),
        pl.concat_str(pl.lit("<no eventID #"), pl.col("_i").cast(S), pl.lit(">")),
    )
    return (
        sts.select(
            event_id.alias("iss_event_id"),
            pl.col("event_time").alias("iss_time"),
            name.alias("iss_event_name"),
            jpath(re_, "$.credentials.accessKeyId").alias("iss_key"),
            obtained_arn.alias("iss_arn"),
            label.alias("iss_label"),
            expires.alias("iss_expires"),
            source_identity.alias("iss_source_identity"),
            typ.alias("c_type"),
            pl.col("access_key_id").alias("c_key"),
            pl.col("principal_arn").alias("c_arn"),
            pl.col("event_time").alias("c_time"),
            pl.col("actor").alias("c_actor"),
            _is_session(typ, pl.col("assumed_root")).alias("c_is_session"),
            pl.col("source_identity").alias("c_source_identity"),
            origin_name.alias("origin_name"),
            pl.when(typ.is_in(["SAMLUser", "WebIdentityUser", "AWSAccount", "AWSService"]))
            .then(None)
            .otherwise(pl.col("principal_arn"))
            .alias("origin_arn"),
            typ.alias("origin_type"),
            origin_method.alias("origin_method"),
            origin_note.alias("origin_note"),
        )
        .unique("iss_event_id", keep="first", maintain_order=True)
        .sort("iss_time")
    )


def _link(df: pl.DataFrame, iss: pl.DataFrame, *, key: str, arn: str, time: str) -> pl.DataFrame:
    """Add ``_parent`` (issuing event id) and ``_link`` (how) to ``df`` (which has ``_rid``).

    First by temporary access key (exact); then, where the row has no key or the candidate
    issuing event has none, by session ARN with an as-of join on time inside the credential
    lifetime.
    """
    by_key = (
        iss.filter(pl.col("iss_key").is_not_null())
        .unique("iss_key", keep="first", maintain_order=True)
        .select(pl.col("iss_key").alias("_k"), pl.col("iss_event_id").alias("_kid"))
    )
    base = df.select(
        "_rid", pl.col(key).alias("_key"), pl.col(arn).alias("_arn"), pl.col(time).alias("_t")
    )
    out = base.join(by_key, left_on="_key", right_on="_k", how="left", coalesce=True)

    cand = (
        iss.filter(pl.col("iss_arn").is_not_null() & pl.col("iss_time").is_not_null())
        .select(
            pl.col("iss_arn").alias("_arn"),
            pl.col("iss_time").alias("_it"),
            pl.col("iss_expires").alias("_exp"),
            pl.col("iss_key").alias("_ikey"),
            pl.col("iss_event_id").alias("_aid"),
        )
        .sort("_it")
    )
    need = (
        out.filter(
            pl.col("_kid").is_null() & pl.col("_arn").is_not_null() & pl.col("_t").is_not_null()
        )
        .with_columns((pl.col("_t") + CLOCK_SKEW).alias("_ts"))
        .sort("_ts")
    )
    if need.height and cand.height:
        m = (
            need.join_asof(
                cand,
                left_on="_ts",
                right_on="_it",
                by="_arn",
                strategy="backward",
                check_sortedness=False,
            )
            .filter(
                pl.col("_aid").is_not_null()
                & (pl.col("_t") <= pl.col("_exp") + CLOCK_SKEW)
                & (pl.col("_key").is_null() | pl.col("_ikey").is_null())
            )
            .select("_rid", "_aid")
        )
    else:
        m = pl.DataFrame(schema={"_rid": pl.UInt32, "_aid": S})
    out = out.join(m, on="_rid", how="left")
    return df.join(
        out.select(
            "_rid",
            pl.coalesce("_kid", "_aid").alias("_parent"),
            pl.when(pl.col("_kid").is_not_null())
            .then(pl.lit("access_key"))
            .when(pl.col("_aid").is_not_null())
            .then(pl.lit("session_name+role"))
            .otherwise(None)
            .alias("_link"),
        ),
        on="_rid",
        how="left",
    )


def _resolve(iss: pl.DataFrame) -> pl.DataFrame:
    """For every issuing event, the chain back to the first non-session identity.

    Returns one row per ``iss_event_id`` with ``r_started_by``, ``r_started_by_arn``,
    ``r_started_by_type``, ``r_chain``, ``r_evidence``, ``r_method`` (origin kind or null),
    ``r_weak`` (a hop was matched by session ARN, not key), ``r_note``.
    """
    iss = iss.with_row_index("_rid")
    iss = _link(
        iss.with_columns(
            pl.when(pl.col("c_is_session")).then(pl.col("c_key")).alias("_ck"),
            pl.when(pl.col("c_is_session")).then(pl.col("c_arn")).alias("_ca"),
        ),
        iss,
        key="_ck",
        arn="_ca",
        time="c_time",
    ).with_columns(
        # never your own parent (a role re-assuming itself with the same session name)
        pl.when(pl.col("_parent") == pl.col("iss_event_id"))
        .then(None)
        .otherwise(pl.col("_parent"))
        .alias("_parent")
    )
    parents = iss.select(
        pl.col("iss_event_id").alias("_top"),
        pl.col("_parent").alias("_p"),
        pl.col("_link").alias("_plink"),
        pl.col("iss_label").alias("_toplabel"),
    )
    labels = iss.select(pl.col("iss_event_id").alias("_p"), pl.col("iss_label").alias("_plabel"))
    res = iss.select(
        pl.col("iss_event_id").alias("_start"),
        pl.col("iss_event_id").alias("_top"),
        pl.concat_list(pl.col("iss_label")).alias("_labels"),
        pl.concat_list(pl.col("iss_event_id")).alias("_evidence"),
        pl.lit(False).alias("_weak"),
    )
    for _ in range(MAX_DEPTH):
        cur = res.join(parents.select("_top", "_p", "_plink"), on="_top", how="left").join(
            labels, on="_p", how="left"
        )
        step = pl.col("_p").is_not_null() & ~pl.col("_evidence").list.contains(
            pl.col("_p")
        ).fill_null(False)
        if not cur.select(step.any()).item():
            break
        res = cur.select(
            "_start",
            pl.when(step).then(pl.col("_p")).otherwise(pl.col("_top")).alias("_top"),
            pl.when(step)
            .then(pl.concat_list(pl.col("_plabel"), pl.col("_labels")))
            .otherwise(pl.col("_labels"))
            .alias("_labels"),
            pl.when(step)
            .then(pl.concat_list(pl.col("_p"), pl.col("_evidence")))
            .otherwise(pl.col("_evidence"))
            .alias("_evidence"),
            (
                pl.col("_weak")
                | (step & (pl.col("_plink") == "session_name+role")).fill_null(False)
            ).alias("_weak"),
        )

    top = iss.select(
        pl.col("iss_event_id").alias("_top"),
        "c_is_session",
        "c_actor",
        "c_key",
        "c_arn",
        "c_type",
        "c_source_identity",
        "origin_name",
        "origin_arn",
        "origin_type",
        "origin_method",
        "origin_note",
    )
    res = res.join(top, on="_top", how="left")
    tail = pl.col("_labels").list.join(" → ")
    resolved = ~pl.col("c_is_session")
    has_si = pl.col("c_source_identity").is_not_null()
    missing = pl.concat_str(
        pl.lit("the chain stops at session "),
        pl.col("c_actor").fill_null("?"),
        pl.lit(": no AssumeRole event for "),
        pl.col("c_key").fill_null("its credentials"),
        pl.lit(" in the loaded logs — load us-east-1/STS events or widen the time range"),
    )
    return res.unique("_start", keep="first").select(
        pl.col("_start").alias("iss_event_id"),
        pl.when(resolved)
        .then(pl.col("origin_name"))
        .when(has_si)
        .then(pl.col("c_source_identity"))
        .alias("r_started_by"),
        pl.when(resolved).then(pl.col("origin_arn")).alias("r_started_by_arn"),
        pl.when(resolved)
        .then(pl.col("origin_type"))
        .when(has_si)
        .then(pl.lit("SourceIdentity"))
        .alias("r_started_by_type"),
        pl.when(resolved)
        .then(pl.concat_str(pl.col("origin_name").fill_null("?"), pl.lit(" → "), tail))
        .otherwise(
            pl.concat_str(pl.lit("? → "), pl.col("c_actor").fill_null("?"), pl.lit(" → "), tail)
        )
        .alias("r_chain"),
        pl.col("_evidence").alias("r_evidence"),
        pl.when(resolved)
        .then(pl.col("origin_method"))
        .when(has_si)
        .then(pl.lit("source_identity"))
        .otherwise(pl.lit("none"))
        .alias("r_method"),
        pl.col("_weak").alias("r_weak"),
        pl.when(resolved)
        .then(pl.col("origin_note"))
        .when(has_si)
        .then(pl.concat_str(missing, pl.lit("; named by its STS source identity")))
        .otherwise(missing)
        .alias("r_note"),
    )


def attribute(events: pl.DataFrame, *, context: pl.DataFrame | None = None) -> pl.DataFrame:
    """Add who started each session (the identity behind an assumed role) to ``events``.

    Parameters
    ----------
    events
        Normalised events (``trailkit.read_events`` / ``normalize_records``). Every row is kept,
        in order; the attribution columns are added at the end.
    context
        Events in which to look for the credential-issuing STS calls (``AssumeRole*``,
        ``GetFederationToken``, ``GetSessionToken``, ``AssumeRoot``). Defaults to ``events``
        itself; pass the full log when ``events`` is an already filtered slice. STS calls are
        recorded in the region of the STS endpoint used (often us-east-1): load that region too.

    Returns
    -------
    polars.DataFrame
        ``events`` plus:

        - ``session_started_by`` — readable name of the identity that obtained the credentials
          (an IAM user name, ``root``, a SAML/web-identity subject, ...); for callers that are
          not sessions, the caller itself; null when the logs do not tell.
        - ``started_by_arn`` — that identity's ARN where it has one.
        - ``started_by_type`` — its ``userIdentity.type`` (IAMUser, Root, SAMLUser, ...).
        - ``attribution_chain`` — e.g. ``"bob.contractor → S3AdminRole/cleanup-job"``; role chains
          show every hop, an unknown start shows ``?``.
        - ``attribution_evidence`` — list of the issuing events' ``event_id``, oldest first.
        - ``attribution_method`` — ``direct``, ``access_key``, ``session_name+role``, ``saml``,
          ``web_identity``, ``source_identity``, ``identity_center``, ``session_issuer``,
          ``aws_service`` or ``none`` (see the module docstring).
        - ``attribution_note`` — why it could not be resolved and what to load, or a caveat.

    Examples
    --------
    >>> import trailkit
    >>> ev = trailkit.normalize_records([{"eventTime": "2026-03-10T09:05:00Z", "eventID": "x",
    ...   "eventName": "ListBuckets", "userIdentity": {"type": "AssumedRole",
    ...   "accessKeyId": "ASIAMISSING", "arn": "arn:aws:sts::1:assumed-role/R/s",
    ...   "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "R"}}}}])
    >>> attribute(ev)["attribution_method"].item()
    'none'
    """
    require_columns(events, _NEEDED, "attribute")
    ctx = events if context is None else context
    require_columns(ctx, _NEEDED, "attribute(context=...)")
    events = events.drop([c for c in ATTRIBUTION_COLUMNS if c in events.columns])

    iss = credential_issuances(ctx)
    resolved = _resolve(iss)

    typ = pl.col("identity_type")
    is_session = _is_session(typ, pl.col("assumed_root"))
    linked = (
        _link(
            events.select(
                "event_time", "access_key_id", "principal_arn", "identity_type", "assumed_root"
            )
            .with_row_index("_rid")
            .with_columns(
                pl.when(is_session).then(pl.col("access_key_id")).alias("_k"),
                pl.when(is_session).then(pl.col("principal_arn")).alias("_a"),
            ),
            iss,
            key="_k",
            arn="_a",
            time="event_time",
        )
        .sort("_rid")
        .select(pl.col("_parent"), pl.col("_link"))
    )

    r = linked.join(
        resolved, left_on="_parent", right_on="iss_event_id", how="left", maintain_order="left"
    )
    base = pl.concat([events, r], how="horizontal")

    empty_list = pl.lit([], dtype=pl.List(S))
    found = pl.col("_parent").is_not_null()
    role_name = pl.col("role_name").fill_null("")
    role_arn = pl.col("role_arn").fill_null("")
    sso = role_name.str.starts_with("AWSReservedSSO_")
    service_role = (
        role_arn.str.contains(":role/aws-service-role/", literal=True)
        | pl.col("invoked_by").is_not_null()
    )
    fed_cond = (typ == "FederatedUser") & (pl.col("issuer_type") == "IAMUser")
    idc_user = typ == "IdentityCenterUser"
    no_identity = typ.is_null()
    created = pl.col("session_created").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    not_found_note = pl.concat_str(
        pl.when(pl.col("access_key_id").is_not_null())
        .then(
            pl.concat_str(pl.lit("no AssumeRole event for "), pl.col("access_key_id"), pl.lit(" ("))
        )
        .otherwise(pl.lit("no AssumeRole event covering this time for session (")),
        pl.col("actor").fill_null("?"),
        pl.when(created.is_not_null())
        .then(pl.concat_str(pl.lit(", session created "), created))
        .otherwise(pl.lit("")),
        pl.lit(") in the loaded logs — load us-east-1/STS events or widen the time range"),
    )

    def pick(direct, linked_, si, sso_, fed, svc, none):  # noqa: PLR0913 - one branch per method
        return (
            pl.when(no_identity)
            .then(none)
            .when(idc_user)
            .then(sso_)
            .when(~is_session)
            .then(direct)
            .when(found)
            .then(linked_)
            .when(pl.col("source_identity").is_not_null())
            .then(si)
            .when(sso)
            .then(sso_)
            .when(fed_cond)
            .then(fed)
            .when(service_role)
            .then(svc)
            .otherwise(none)
        )

    service_name = pl.coalesce(
        pl.col("invoked_by"),
        role_arn.str.extract(r":role/aws-service-role/([^/]+)/", 1),
    )
    started_by = pick(
        direct=pl.when(typ == "AWSService")
        .then(pl.coalesce(pl.col("invoked_by"), pl.col("actor")))
        .otherwise(pl.col("actor")),
        linked_=pl.col("r_started_by"),
        si=pl.col("source_identity"),
        sso_=pl.coalesce(
            pl.when(idc_user).then(
                pl.coalesce(pl.col("user_name"), pl.col("on_behalf_of_user_id"))
            ),
            pl.col("session_name"),
        ),
        fed=pl.col("role_name"),
        svc=service_name,
        none=pl.lit(None, S),
    )
    started_arn = pick(
        direct=pl.when(typ.is_in(["AWSService", "AWSAccount", "SAMLUser", "WebIdentityUser"]))
        .then(None)
        .otherwise(pl.col("principal_arn")),
        linked_=pl.col("r_started_by_arn"),
        si=pl.lit(None, S),
        sso_=pl.lit(None, S),
        fed=pl.col("role_arn"),
        svc=pl.lit(None, S),
        none=pl.lit(None, S),
    )
    started_type = pick(
        direct=typ,
        linked_=pl.col("r_started_by_type"),
        si=pl.lit("SourceIdentity"),
        sso_=pl.lit("IdentityCenterUser"),
        fed=pl.lit("IAMUser"),
        svc=pl.lit("AWSService"),
        none=pl.lit(None, S),
    )
    actor = pl.col("actor").fill_null("?")
    chain = pick(
        direct=pl.col("actor"),
        linked_=pl.col("r_chain"),
        si=pl.concat_str(pl.col("source_identity"), pl.lit(" → "), actor),
        sso_=pl.concat_str(
            pl.coalesce(
                pl.col("user_name"), pl.col("on_behalf_of_user_id"), pl.col("session_name")
            ).fill_null("?"),
            pl.when(idc_user).then(pl.lit("")).otherwise(pl.concat_str(pl.lit(" → "), actor)),
        ),
        fed=pl.concat_str(pl.col("role_name").fill_null("?"), pl.lit(" → "), actor),
        svc=pl.concat_str(service_name.fill_null("?"), pl.lit(" → "), actor),
        none=pl.concat_str(pl.lit("? → "), actor),
    )
    evidence = (
        pl.when(found & is_session & ~idc_user).then(pl.col("r_evidence")).otherwise(empty_list)
    )
    method = pick(
        direct=pl.when(typ == "AWSService").then(pl.lit("aws_service")).otherwise(pl.lit("direct")),
        linked_=pl.coalesce(
            pl.when(pl.col("r_method") != "none").then(pl.col("r_method")),
            pl.when(pl.col("r_started_by").is_not_null()).then(pl.col("_link")),
            pl.lit("none"),
        ),
        si=pl.lit("source_identity"),
        sso_=pl.lit("identity_center"),
        fed=pl.lit("session_issuer"),
        svc=pl.lit("aws_service"),
        none=pl.lit("none"),
    )
    weak_note = (
        pl.when(pl.col("_link") == "session_name+role")
        .then(
            pl.lit(
                "linked by session ARN and time, not by access key: session names can be reused, check the evidence"
            )
        )
        .when(pl.col("r_weak").fill_null(False))
        .then(
            pl.lit(
                "a role-chain hop was linked by session ARN and time, not by access key; check the evidence"
            )
        )
    )
    note = pick(
        direct=pl.when(typ == "AWSAccount")
        .then(
            pl.lit(
                "caller is a principal of another account; that account's CloudTrail names the person"
            )
        )
        .otherwise(None),
        linked_=pl.concat_str(pl.col("r_note"), weak_note, separator="; ", ignore_nulls=True),
        si=pl.concat_str(
            not_found_note,
            pl.lit("; named by its STS source identity (set by whoever first assumed a role)"),
        ),
        sso_=pl.when(idc_user)
        .then(pl.lit("IAM Identity Center user (onBehalfOf.userId)"))
        .otherwise(
            pl.lit(
                "IAM Identity Center permission-set role: the session name is the Identity Center user name"
            )
        ),
        fed=pl.lit(
            "federated user: the IAM user in sessionContext.sessionIssuer called GetFederationToken "
            "(no issuing event loaded)"
        ),
        svc=pl.lit("service-linked role or service acting (invokedBy): no person behind this call"),
        none=pl.when(no_identity)
        .then(pl.lit("the event has no userIdentity"))
        .otherwise(not_found_note),
    )
    note = pl.when(note.str.len_chars() == 0).then(None).otherwise(note)
    return base.with_columns(
        started_by.alias("session_started_by"),
        started_arn.alias("started_by_arn"),
        started_type.alias("started_by_type"),
        chain.alias("attribution_chain"),
        evidence.alias("attribution_evidence"),
        method.alias("attribution_method"),
        note.alias("attribution_note"),
    ).drop([c for c in r.columns])
