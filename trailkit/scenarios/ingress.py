"""Security-group ingress opened to the world: who opened which port, and for how long.

Every request shape EC2 writes to CloudTrail is read:

- ``AuthorizeSecurityGroupIngress`` with ``ipPermissions.items[]`` (console, CLI
  ``--ip-permissions``, most SDK calls), each with ``ipRanges.items[].cidrIp`` and
  ``ipv6Ranges.items[].cidrIpv6``;
- the flat form (``cidrIp``, ``fromPort``, ``toPort``, ``ipProtocol`` at the top of
  ``requestParameters``, e.g. the Go SDK / ``--cidr --port``);
- ``ModifySecurityGroupRules`` (``ModifySecurityGroupRulesRequest.SecurityGroupRule``, one
  object or a list).

Rule ids (``sgr-…``) come from the response's ``securityGroupRuleSet`` (newer events) or the
Modify request. A rule is closed by the first later successful ``RevokeSecurityGroupIngress``
of the same permission (group, protocol, ports, CIDR) or of the same rule id, a
``ModifySecurityGroupRules`` that changes that rule id to something not exposed, or
``DeleteSecurityGroup`` of the group. Prefix lists and security-group references are not
address ranges and are ignored.

The pipeline is one set of polars expressions and as-of joins (no loops over records; the
only Python loop is over the *distinct* CIDR strings, to canonicalise them with
:mod:`ipaddress`), so it can be translated for Athena later.

>>> import trailkit
>>> ev = trailkit.normalize_records([{"eventTime": "2026-03-10T09:00:00Z", "eventID": "o1",
...   "eventName": "AuthorizeSecurityGroupIngress", "userIdentity": {"type": "Root"},
...   "requestParameters": {"groupId": "sg-1", "cidrIp": "0.0.0.0/0", "ipProtocol": "tcp",
...                         "fromPort": 22, "toPort": 22}}])
>>> open_ingress(ev).select("group_id", "ports_exposed", "still_open").row(0)
('sg-1', [22], True)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import polars as pl

from trailkit.attribution import ATTRIBUTION_COLUMNS, attribute
from trailkit.errors import InputError
from trailkit.scenarios._common import (
    CORE_COLUMNS,
    as_list_text,
    decode,
    end_of_data,
    jpath,
    nonempty,
    require_columns,
    to_int,
)

S = pl.String()
I64 = pl.Int64()

#: the output columns, in order.
COLUMNS: tuple[str, ...] = (
    "event_time",
    "group_id",
    "rule_id",
    "protocol",
    "from_port",
    "to_port",
    "cidr",
    "cidr_canonical",
    "ports_exposed",
    "success",
    "error_code",
    "event_name",
    "request_shape",
    "actor",
    "identity_type",
    "principal_arn",
    "access_key_id",
    *ATTRIBUTION_COLUMNS,
    "source_ip",
    "user_agent",
    "aws_region",
    "recipient_account_id",
    "event_id",
    "revoked_at",
    "revoked_by",
    "revoked_by_arn",
    "revoke_event_name",
    "revoke_match",
    "revoke_event_id",
    "still_open",
    "exposure",
    "exposure_seconds",
)

_PERMISSIONS = pl.List(
    pl.Struct(
        {
            "ipProtocol": S,
            "fromPort": S,
            "toPort": S,
            "ipRanges": pl.Struct({"items": pl.List(pl.Struct({"cidrIp": S}))}),
            "ipv6Ranges": pl.Struct({"items": pl.List(pl.Struct({"cidrIpv6": S}))}),
        }
    )
)
_MODIFY = pl.List(
    pl.Struct(
        {
            "SecurityGroupRuleId": S,
            "SecurityGroupRule": pl.Struct(
                {"IpProtocol": S, "FromPort": S, "ToPort": S, "CidrIpv4": S, "CidrIpv6": S}
            ),
        }
    )
)
_RULE_SET = pl.List(
    pl.Struct(
        {
            "securityGroupRuleId": S,
            "ipProtocol": S,
            "fromPort": S,
            "toPort": S,
            "cidrIpv4": S,
            "cidrIpv6": S,
            "isEgress": S,
        }
    )
)
_PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}
_PERM_KEY = ("group_id", "protocol", "_from_key", "_to_key", "cidr_canonical")


def _protocol(expr: pl.Expr) -> pl.Expr:
    p = expr.str.strip_chars().str.to_lowercase()
    return p.replace(_PROTOCOL_NAMES)


def _ports(protocol: pl.Expr, port: pl.Expr) -> pl.Expr:
    """Port as Int64; -1 for 'all protocols' (whatever the request said)."""
    return pl.when(protocol == "-1").then(pl.lit(-1, I64)).otherwise(to_int(port))


def _permission_rows(df: pl.DataFrame) -> pl.DataFrame:
    """One row per (event, protocol, port range, CIDR) from all request shapes.

    ``df`` must have ``_ev`` (row id). Returns ``_ev``, ``group_id``, ``rule_id``,
    ``protocol``, ``from_port``, ``to_port``, ``cidr``, ``request_shape``.
    """
    rp = "request_parameters"
    out_schema = pl.Schema(
        {
            "_ev": pl.UInt32(),
            "group_id": S,
            "rule_id": S,
            "protocol": S,
            "from_port": I64,
            "to_port": I64,
            "cidr": S,
            "request_shape": S,
        }
    )
    group = pl.coalesce(jpath(rp, "$.groupId"), jpath(rp, "$.groupName"))

    # 1. ipPermissions.items[]
    a = df.select(
        "_ev", group.alias("group_id"), as_list_text(jpath(rp, "$.ipPermissions.items")).alias("_t")
    )
    a = a.filter(pl.col("_t").is_not_null())
    a = decode(a, "_t", _PERMISSIONS, "_p").drop("_t").explode("_p").unnest("_p")
    if a.height:
        a = a.with_columns(
            pl.concat_list(
                pl.col("ipRanges")
                .struct.field("items")
                .list.eval(pl.element().struct.field("cidrIp"))
                .fill_null([]),
                pl.col("ipv6Ranges")
                .struct.field("items")
                .list.eval(pl.element().struct.field("cidrIpv6"))
                .fill_null([]),
            ).alias("cidr")
        ).explode("cidr")
        proto = _protocol(pl.col("ipProtocol"))
        a = a.select(
            "_ev",
            "group_id",
            pl.lit(None, S).alias("rule_id"),
            proto.alias("protocol"),
            _ports(proto, pl.col("fromPort")).alias("from_port"),
            _ports(proto, pl.col("toPort")).alias("to_port"),
            nonempty(pl.col("cidr")).alias("cidr"),
            pl.lit("ip_permissions").alias("request_shape"),
        ).filter(pl.col("cidr").is_not_null())
    else:
        a = pl.DataFrame(schema=out_schema)

    # 2. flat cidrIp / fromPort / toPort / ipProtocol
    proto = _protocol(jpath(rp, "$.ipProtocol"))
    b = df.select(
        "_ev",
        group.alias("group_id"),
        pl.lit(None, S).alias("rule_id"),
        proto.alias("protocol"),
        _ports(proto, jpath(rp, "$.fromPort")).alias("from_port"),
        _ports(proto, jpath(rp, "$.toPort")).alias("to_port"),
        pl.coalesce(jpath(rp, "$.cidrIp"), jpath(rp, "$.cidrIpv6")).alias("cidr"),
        pl.lit("flat").alias("request_shape"),
    ).filter(pl.col("cidr").is_not_null())

    # 3. ModifySecurityGroupRules
    m = df.select(
        "_ev",
        jpath(rp, "$.ModifySecurityGroupRulesRequest.GroupId").alias("group_id"),
        as_list_text(jpath(rp, "$.ModifySecurityGroupRulesRequest.SecurityGroupRule")).alias("_t"),
    ).filter(pl.col("_t").is_not_null())
    m = decode(m, "_t", _MODIFY, "_r").drop("_t").explode("_r").unnest("_r")
    if m.height:
        rule = pl.col("SecurityGroupRule").struct.field
        proto = _protocol(rule("IpProtocol"))
        m = m.select(
            "_ev",
            "group_id",
            nonempty(pl.col("SecurityGroupRuleId")).alias("rule_id"),
            proto.alias("protocol"),
            _ports(proto, rule("FromPort")).alias("from_port"),
            _ports(proto, rule("ToPort")).alias("to_port"),
            nonempty(pl.coalesce(rule("CidrIpv4"), rule("CidrIpv6"))).alias("cidr"),
            pl.lit("modify_rules").alias("request_shape"),
        )
    else:
        m = pl.DataFrame(schema=out_schema)
    return pl.concat([x.cast(out_schema) for x in (a, b, m)], how="vertical")


def _cidr_table(cidrs: pl.Series, listed: Sequence[str]) -> pl.DataFrame:
    """Canonical form of each distinct CIDR, and the first listed range it fully covers.

    Any ``/0`` is the whole address family (anonymised logs write ``1.2.3.4/0``). This is a
    loop over distinct CIDR *strings*, not over records.
    """
    nets = []
    for c in listed:
        try:
            nets.append(ipaddress.ip_network(str(c).strip(), strict=False))
        except ValueError as exc:
            raise InputError(
                f"open_ingress: cidrs contains {c!r}, which is not an IPv4/IPv6 network ({exc}). "
                "Pass ranges such as '0.0.0.0/0', '::/0' or '203.0.113.0/24'."
            ) from None
    raw, canon, match = [], [], []
    for c in cidrs.drop_nulls().unique().to_list():
        try:
            net = ipaddress.ip_network(c.strip(), strict=False)
        except ValueError:
            net = None
        raw.append(c)
        canon.append(str(net) if net else None)
        hit = None
        if net is not None:
            hit = next(
                (str(n) for n in nets if n.version == net.version and n.subnet_of(net)),  # type: ignore[arg-type]
                None,
            )
        match.append(hit)
    return pl.DataFrame(
        {"cidr": raw, "cidr_canonical": canon, "matched_range": match},
        schema={"cidr": S, "cidr_canonical": S, "matched_range": S},
    )


def _validate_ports(ports) -> list[int]:
    if isinstance(ports, int):
        ports = (ports,)
    try:
        out = [int(p) for p in ports]
    except (TypeError, ValueError):
        raise InputError(
            f"open_ingress: ports must be port numbers, got {ports!r}. Example: ports=(22, 3389)."
        ) from None
    bad = [p for p in out if not 0 <= p <= 65535]
    if bad or not out:
        raise InputError(
            f"open_ingress: ports must be 0-65535 and not empty, got {ports!r}. Example: ports=(22, 3389)."
        )
    return out


def _with_keys(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(
        pl.col("from_port").fill_null(-2).alias("_from_key"),
        pl.col("to_port").fill_null(-2).alias("_to_key"),
    )


def _first_after(
    open_: pl.DataFrame, closers: pl.DataFrame, by: list[str], tag: str
) -> pl.DataFrame:
    """As-of forward join: for each opening (``_oid``), the first closer at or after it."""
    cols = [f"_{tag}_t", f"_{tag}_id", f"_{tag}_actor", f"_{tag}_arn", f"_{tag}_name"]
    if not open_.height or not closers.height:
        return open_.select("_oid").with_columns(
            [pl.lit(None, pl.Datetime("us", "UTC")).alias(cols[0])]
            + [pl.lit(None, S).alias(c) for c in cols[1:]]
        )
    left = (
        open_.select("_oid", "event_time", *by)
        .filter(pl.all_horizontal(pl.col(by).is_not_null()))
        .sort("event_time")
    )
    right = (
        closers.select(
            *by,
            pl.col("event_time").alias(cols[0]),
            pl.col("event_id").alias(cols[1]),
            pl.col("actor").alias(cols[2]),
            pl.col("principal_arn").alias(cols[3]),
            pl.col("event_name").alias(cols[4]),
        )
        .filter(pl.all_horizontal(pl.col(by).is_not_null()))
        .sort(cols[0])
    )
    joined = left.join_asof(
        right,
        left_on="event_time",
        right_on=cols[0],
        by=by,
        strategy="forward",
        check_sortedness=False,
    )
    return open_.select("_oid").join(joined.select("_oid", *cols), on="_oid", how="left")


def open_ingress(
    events: pl.DataFrame,
    ports: Sequence[int] | int = (22, 3389),
    cidrs: Sequence[str] = ("0.0.0.0/0", "::/0"),
    *,
    include_failed: bool = True,
) -> pl.DataFrame:
    """One row per ingress rule that opened a listed port to a listed address range.

    Parameters
    ----------
    events
        Normalised events. Include the later ``RevokeSecurityGroupIngress`` /
        ``ModifySecurityGroupRules`` / ``DeleteSecurityGroup`` events to see when rules were
        closed, and the STS events for the person behind a role session.
    ports
        Ports of interest. A rule counts when its protocol is ``tcp``/``udp`` (or ``6``/``17``)
        and ``fromPort <= port <= toPort``, or its protocol is ``-1`` (all traffic).
    cidrs
        Address ranges of interest. A rule counts when its range contains a listed range
        entirely: ``0.0.0.0/0`` matches only world-open rules (any ``/0``, so anonymised
        ``1.2.3.4/0`` too); ``203.0.113.0/24`` matches ``0.0.0.0/0``, ``203.0.0.0/16`` and
        ``203.0.113.0/24`` rules. CIDRs are canonicalised as EC2 does (``10.0.0.5/8`` →
        ``10.0.0.0/8``).
    include_failed
        Keep failed authorisations (``success`` false, never open).

    Returns
    -------
    polars.DataFrame
        Sorted by ``event_time``; columns :data:`COLUMNS`:

        - ``event_time`` (opened at), ``group_id``, ``rule_id`` (``sgr-…`` where the event has
          it), ``protocol`` (``tcp``, ``udp``, ``-1``, ...), ``from_port``, ``to_port`` (-1 for
          protocol -1), ``cidr`` (as written), ``cidr_canonical``, ``ports_exposed`` (the listed
          ports this rule opens)
        - ``success``, ``error_code``, ``event_name``, ``request_shape``
          (``ip_permissions`` | ``flat`` | ``modify_rules``)
        - who: ``actor``, ``identity_type``, ``principal_arn``, ``access_key_id`` and the
          attribution columns of :func:`trailkit.attribute`; ``source_ip``, ``user_agent``,
          ``aws_region``, ``recipient_account_id``, ``event_id``
        - closing: ``revoked_at``, ``revoked_by`` (actor), ``revoked_by_arn``,
          ``revoke_event_name``, ``revoke_match`` (``permission`` | ``rule_id`` |
          ``rule_modified`` | ``group_deleted``), ``revoke_event_id``
        - ``still_open`` — no closing event in the loaded data; ``exposure`` (Duration) and
          ``exposure_seconds`` — until the revocation, or until the last loaded event when
          still open (a lower bound); null for failed calls.

    Examples
    --------
    >>> import trailkit
    >>> ev = trailkit.normalize_records([{"eventTime": "2026-03-10T09:00:00Z", "eventID": "o1",
    ...   "eventName": "AuthorizeSecurityGroupIngress", "userIdentity": {"type": "Root"},
    ...   "requestParameters": {"groupId": "sg-1", "ipPermissions": {"items": [
    ...     {"ipProtocol": "-1", "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}},
    ...   {"eventTime": "2026-03-10T09:01:01Z", "eventID": "r1",
    ...   "eventName": "RevokeSecurityGroupIngress", "userIdentity": {"type": "Root"},
    ...   "requestParameters": {"groupId": "sg-1", "ipPermissions": {"items": [
    ...     {"ipProtocol": "-1", "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}}])
    >>> open_ingress(ev).select("ports_exposed", "revoke_match", "exposure_seconds").row(0)
    ([22, 3389], 'permission', 61.0)
    """
    require_columns(events, CORE_COLUMNS, "open_ingress")
    port_list = _validate_ports(ports)
    if isinstance(cidrs, str):
        cidrs = (cidrs,)
    name = pl.col("event_name")
    relevant = events.filter(
        name.is_in(
            [
                "AuthorizeSecurityGroupIngress",
                "ModifySecurityGroupRules",
                "RevokeSecurityGroupIngress",
                "DeleteSecurityGroup",
            ]
        )
    ).with_row_index("_ev")
    perms = _permission_rows(relevant)
    perms = perms.join(
        relevant.select(
            "_ev",
            "event_name",
            "event_time",
            "event_id",
            "success",
            "actor",
            "principal_arn",
            "response_elements",
        ),
        on="_ev",
        how="left",
    )
    table = _cidr_table(perms["cidr"], cidrs)
    perms = _with_keys(perms.join(table, on="cidr", how="left"))

    # -- openings ------------------------------------------------------------------------
    proto = pl.col("protocol")
    covers = [
        pl.when(
            (proto == "-1")
            | (proto.is_in(["tcp", "udp"]) & (pl.col("from_port") <= p) & (pl.col("to_port") >= p))
        ).then(pl.lit(p, I64))
        for p in port_list
    ]
    opening_events = name.is_in(["AuthorizeSecurityGroupIngress", "ModifySecurityGroupRules"])
    opens = (
        perms.filter(opening_events)
        .with_columns(pl.concat_list(covers).list.drop_nulls().alias("ports_exposed"))
        .filter((pl.col("ports_exposed").list.len() > 0) & pl.col("matched_range").is_not_null())
    )
    if not include_failed:
        opens = opens.filter(pl.col("success").fill_null(True))

    # rule ids from the Authorize response (securityGroupRuleSet), matched on the permission
    rs = (
        relevant.filter(name == "AuthorizeSecurityGroupIngress")
        .select(
            "_ev",
            as_list_text(jpath("response_elements", "$.securityGroupRuleSet.items")).alias("_t"),
        )
        .filter(pl.col("_t").is_not_null())
    )
    if rs.height:
        rs = decode(rs, "_t", _RULE_SET, "_r").drop("_t").explode("_r").unnest("_r")
    if rs.height:
        rproto = _protocol(pl.col("ipProtocol"))
        rs = rs.select(
            "_ev",
            rproto.alias("protocol"),
            _ports(rproto, pl.col("fromPort")).alias("from_port"),
            _ports(rproto, pl.col("toPort")).alias("to_port"),
            pl.coalesce(pl.col("cidrIpv4"), pl.col("cidrIpv6")).alias("_rcidr"),
            pl.col("securityGroupRuleId").alias("_rule"),
        ).filter(pl.col("_rule").is_not_null())
        rtable = _cidr_table(rs["_rcidr"], ())
        rs = (
            _with_keys(
                rs.join(
                    rtable.select(pl.col("cidr").alias("_rcidr"), "cidr_canonical"),
                    on="_rcidr",
                    how="left",
                )
            )
            .select("_ev", "protocol", "_from_key", "_to_key", "cidr_canonical", "_rule")
            .unique(["_ev", "protocol", "_from_key", "_to_key", "cidr_canonical"], keep="first")
        )
        opens = opens.join(
            rs,
            on=["_ev", "protocol", "_from_key", "_to_key", "cidr_canonical"],
            how="left",
            nulls_equal=True,
        )
        opens = opens.with_columns(pl.coalesce("rule_id", "_rule").alias("rule_id")).drop("_rule")
    opens = opens.with_row_index("_oid")

    # -- closers ---------------------------------------------------------------------------
    ok = pl.col("success").fill_null(True)
    revoke_perm = perms.filter((name == "RevokeSecurityGroupIngress") & ok)
    rule_ids = (
        relevant.filter((name == "RevokeSecurityGroupIngress") & ok)
        .select(
            "event_time",
            "event_id",
            "actor",
            "principal_arn",
            "event_name",
            pl.concat_list(
                pl.col("request_parameters").fill_null("").str.extract_all(r"sgr-[0-9a-fA-F]+"),
                pl.coalesce(
                    jpath("response_elements", "$.revokedSecurityGroupRuleSet"), pl.lit("")
                ).str.extract_all(r"sgr-[0-9a-fA-F]+"),
            )
            .list.unique()
            .alias("rule_id"),
        )
        .explode("rule_id")
        .filter(pl.col("rule_id").is_not_null())
    )
    # a Modify closes the old form of a rule unless the new form is itself exposed
    exposed_mods = opens.filter(pl.col("event_name") == "ModifySecurityGroupRules").select(
        "_ev", "rule_id"
    )
    modified = perms.filter(
        (name == "ModifySecurityGroupRules") & ok & pl.col("rule_id").is_not_null()
    ).join(exposed_mods, on=["_ev", "rule_id"], how="anti")
    deleted = relevant.filter((name == "DeleteSecurityGroup") & ok).with_columns(
        pl.coalesce(
            jpath("request_parameters", "$.groupId"), jpath("request_parameters", "$.groupName")
        ).alias("group_id")
    )

    by_perm = _first_after(opens, revoke_perm, list(_PERM_KEY), "p")
    by_rule = _first_after(opens, rule_ids, ["rule_id"], "r")
    # a Modify matched on itself (same event) must not close it: require strictly later
    by_mod = _first_after(
        opens.with_columns(pl.col("event_time") + pl.duration(microseconds=1)),
        modified,
        ["rule_id"],
        "m",
    )
    by_del = _first_after(opens, deleted, ["group_id"], "d")
    closing = by_perm.join(by_rule, on="_oid").join(by_mod, on="_oid").join(by_del, on="_oid")

    first = pl.min_horizontal("_p_t", "_r_t", "_m_t", "_d_t")

    def chosen(field: str) -> pl.Expr:
        return (
            pl.when(pl.col("_p_t") == first)
            .then(pl.col(f"_p_{field}"))
            .when(pl.col("_r_t") == first)
            .then(pl.col(f"_r_{field}"))
            .when(pl.col("_m_t") == first)
            .then(pl.col(f"_m_{field}"))
            .when(pl.col("_d_t") == first)
            .then(pl.col(f"_d_{field}"))
        )

    match = (
        pl.when(pl.col("_p_t") == first)
        .then(pl.lit("permission"))
        .when(pl.col("_r_t") == first)
        .then(pl.lit("rule_id"))
        .when(pl.col("_m_t") == first)
        .then(pl.lit("rule_modified"))
        .when(pl.col("_d_t") == first)
        .then(pl.lit("group_deleted"))
    )
    closing = closing.select(
        "_oid",
        first.alias("revoked_at"),
        chosen("actor").alias("revoked_by"),
        chosen("arn").alias("revoked_by_arn"),
        chosen("name").alias("revoke_event_name"),
        match.alias("revoke_match"),
        chosen("id").alias("revoke_event_id"),
    )
    opens = opens.join(closing, on="_oid", how="left").with_columns(
        [
            pl.when(ok).then(pl.col(c)).alias(c)
            for c in (
                "revoked_at",
                "revoked_by",
                "revoked_by_arn",
                "revoke_event_name",
                "revoke_match",
                "revoke_event_id",
            )
        ]
    )

    # -- who, exposure -----------------------------------------------------------------------
    who = attribute(
        relevant.join(opens.select("_ev").unique(), on="_ev", how="semi"), context=events
    ).select(
        "_ev",
        "error_code",
        "identity_type",
        "access_key_id",
        "source_ip",
        "user_agent",
        "aws_region",
        "recipient_account_id",
        *ATTRIBUTION_COLUMNS,
    )
    opens = opens.join(who, on="_ev", how="left")
    end = end_of_data(events)
    still_open = ok & pl.col("revoked_at").is_null()
    end_lit = (
        pl.lit(end, pl.Datetime("us", "UTC"))
        if end is not None
        else pl.lit(None, pl.Datetime("us", "UTC"))
    )
    exposure = (
        pl.when(~ok)
        .then(None)
        .when(still_open)
        .then(end_lit - pl.col("event_time"))
        .otherwise(pl.col("revoked_at") - pl.col("event_time"))
    )
    opens = opens.with_columns(
        still_open.alias("still_open"),
        exposure.alias("exposure"),
    ).with_columns((pl.col("exposure").dt.total_microseconds() / 1e6).alias("exposure_seconds"))
    return opens.select(COLUMNS).sort("event_time", "event_id", nulls_last=True)
