"""EC2 instance launches: what was started (or attempted), by whom, and what it may have cost.

``RunInstances`` events become one row per launched instance (from
``responseElements.instancesSet.items``) or, for failed calls, one row per attempt. The
instance type comes from the request, else the response (launch templates may leave it out
of the request), else it is marked ``launch_template_unresolved``. Lifetimes end at the first
later successful ``StopInstances`` or ``TerminateInstances`` of the instance.

Costs are **estimates** from an offline table shipped with trailkit
(``trailkit/data/ec2_prices.json``): AWS public On-Demand prices for Linux in us-east-1, as of
January 2025 (see :func:`ec2_price_info`), times a rough per-region factor. They ignore
Spot / Savings Plans / Reserved Instances, other operating systems, EBS and data transfer.

>>> import trailkit
>>> ev = trailkit.normalize_records([{"eventTime": "2026-03-10T09:00:00Z", "eventID": "r1",
...   "eventName": "RunInstances", "awsRegion": "us-east-1",
...   "errorCode": "Client.UnauthorizedOperation", "userIdentity": {"type": "Root"},
...   "requestParameters": {"instanceType": "p3.16xlarge",
...                         "instancesSet": {"items": [{"minCount": 1, "maxCount": 4}]}}}])
>>> instance_launches(ev).select("instance_type", "count", "hourly_usd_total").row(0)
('p3.16xlarge', 4, 97.92)
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import polars as pl

from trailkit.attribution import ATTRIBUTION_COLUMNS, attribute
from trailkit.scenarios._common import (
    CORE_COLUMNS,
    as_list_text,
    decode,
    end_of_data,
    jpath,
    require_columns,
    to_int,
)

S = pl.String
UTC = pl.Datetime("us", "UTC")

#: the output columns, in order.
COLUMNS: tuple[str, ...] = (
    "event_time",
    "instance_id",
    "instance_type",
    "instance_type_source",
    "count",
    "success",
    "dry_run",
    "error_code",
    "error_message",
    "actor",
    "identity_type",
    "principal_arn",
    "access_key_id",
    *ATTRIBUTION_COLUMNS,
    "invoked_by",
    "aws_region",
    "recipient_account_id",
    "source_ip",
    "user_agent",
    "image_id",
    "launch_template",
    "event_id",
    "hourly_usd",
    "hourly_usd_total",
    "price_basis",
    "ended_at",
    "end_event_name",
    "end_event_id",
    "still_running",
    "running_hours",
    "estimated_cost_usd",
)

_INSTANCES = pl.List(pl.Struct({"instanceId": S, "instanceType": S, "imageId": S}))
_REQUEST_ITEMS = pl.List(pl.Struct({"imageId": S, "minCount": S, "maxCount": S}))
_IDS = pl.List(pl.Struct({"instanceId": S}))


@lru_cache(maxsize=1)
def _price_doc() -> dict[str, Any]:
    text = resources.files("trailkit").joinpath("data/ec2_prices.json").read_text(encoding="utf-8")
    return json.loads(text)


def ec2_price_info() -> dict[str, Any]:
    """Where the shipped EC2 prices come from: source, as-of date, caveats.

    >>> ec2_price_info()["base_region"]
    'us-east-1'
    """
    doc = _price_doc()
    return {k: v for k, v in doc.items() if k not in ("prices", "region_multipliers")}


def ec2_prices() -> pl.DataFrame:
    """The shipped price table: ``instance_type``, ``usd_per_hour`` (us-east-1 Linux On-Demand).

    >>> ec2_prices().filter(instance_type="t3.small")["usd_per_hour"].item()
    0.0208
    """
    prices = _price_doc()["prices"]
    return pl.DataFrame(
        {"instance_type": list(prices), "usd_per_hour": list(prices.values())},
        schema={"instance_type": S, "usd_per_hour": pl.Float64},
    )


def _size_factor(size: pl.Expr) -> pl.Expr:
    """Size → multiple of ``large`` (nano 1/16 ... medium 1/2, large 1, xlarge 2, 8xlarge 16)."""
    n = size.str.extract(r"^(\d+)xlarge$", 1).cast(pl.Float64, strict=False)
    return (
        pl.when(size == "nano")
        .then(1 / 16)
        .when(size == "micro")
        .then(1 / 8)
        .when(size == "small")
        .then(1 / 4)
        .when(size == "medium")
        .then(1 / 2)
        .when(size == "large")
        .then(1.0)
        .when(size == "xlarge")
        .then(2.0)
        .when(n.is_not_null())
        .then(2.0 * n)
        .otherwise(None)
    )


def _price_lookup(df: pl.DataFrame) -> pl.DataFrame:
    """Add ``hourly_usd`` and ``price_basis`` from ``instance_type`` and ``aws_region``."""
    table = ec2_prices()
    fam = pl.col("instance_type").str.split(".").list.get(0, null_on_oob=True)
    size = pl.col("instance_type").str.split(".").list.get(1, null_on_oob=True)
    per_large = (
        table.with_columns(
            fam.alias("_fam"), (pl.col("usd_per_hour") / _size_factor(size)).alias("_pl")
        )
        .filter(pl.col("_pl").is_not_null())
        .group_by("_fam")
        .agg(pl.col("_pl").median().alias("_per_large"))
    )
    mult = pl.DataFrame(
        {
            "aws_region": list(_price_doc()["region_multipliers"]),
            "_mult": list(_price_doc()["region_multipliers"].values()),
        },
        schema={"aws_region": S, "_mult": pl.Float64},
    )
    out = (
        df.with_columns(
            pl.col("instance_type").str.strip_chars().str.to_lowercase().alias("_it"),
        )
        .join(table.rename({"instance_type": "_it"}), on="_it", how="left")
        .with_columns(fam.alias("_fam"), _size_factor(size).alias("_factor"))
        .join(per_large, on="_fam", how="left")
        .join(mult, on="aws_region", how="left")
    )
    listed = pl.col("usd_per_hour").is_not_null()
    scaled = pl.col("_per_large") * pl.col("_factor")
    base = pl.coalesce(pl.col("usd_per_hour"), scaled)
    region_known = pl.col("_mult").is_not_null()
    hourly = (base * pl.col("_mult").fill_null(1.0)).round(5)
    basis = (
        pl.when(base.is_null())
        .then(pl.lit("no price: type not in the table"))
        .otherwise(
            pl.concat_str(
                pl.when(listed)
                .then(pl.lit("us-east-1 list price"))
                .otherwise(pl.lit("estimated from other sizes of the family")),
                pl.when(pl.col("aws_region") == "us-east-1")
                .then(pl.lit(""))
                .when(pl.col("_mult") == 1.0)
                .then(pl.concat_str(pl.lit(" (same in "), pl.col("aws_region"), pl.lit(")")))
                .when(region_known)
                .then(
                    pl.concat_str(
                        pl.lit(" × "),
                        pl.col("_mult").cast(S),
                        pl.lit(" for "),
                        pl.col("aws_region"),
                    )
                )
                .otherwise(pl.lit(" (region unknown to the table: us-east-1 price used)")),
            )
        )
    )
    return out.with_columns(hourly.alias("hourly_usd"), basis.alias("price_basis")).drop(
        "_it", "usd_per_hour", "_fam", "_factor", "_per_large", "_mult"
    )


def instance_launches(events: pl.DataFrame) -> pl.DataFrame:
    """One row per instance launched, or per failed ``RunInstances`` attempt.

    Parameters
    ----------
    events
        Normalised events; include ``StopInstances`` / ``TerminateInstances`` for lifetimes and
        the STS events for the person behind a role session.

    Returns
    -------
    polars.DataFrame
        Sorted by ``event_time``; columns :data:`COLUMNS`:

        - ``event_time`` (launch), ``instance_id`` (null for failed attempts)
        - ``instance_type`` and ``instance_type_source``: ``request``, ``response``,
          ``launch_template_unresolved`` (a launch template was used, the type is not in the
          event) or ``unknown``
        - ``count`` — 1 per launched instance; for a failed attempt, the requested
          ``maxCount``
        - ``success``, ``dry_run`` (``Client.DryRunOperation``: would have succeeded),
          ``error_code`` (e.g. ``Client.UnauthorizedOperation``), ``error_message``
        - who: ``actor``, ``identity_type``, ``principal_arn``, ``access_key_id``, the
          attribution columns of :func:`trailkit.attribute`, ``invoked_by`` (autoscaling,
          EKS, ... when a service launched it)
        - ``aws_region``, ``recipient_account_id``, ``source_ip``, ``user_agent``,
          ``image_id``, ``launch_template`` (``id-or-name:version``), ``event_id``
        - cost estimate: ``hourly_usd`` (one instance), ``hourly_usd_total`` (× ``count``),
          ``price_basis`` (where the price came from)
        - lifetime: ``ended_at``, ``end_event_name`` (StopInstances / TerminateInstances),
          ``end_event_id``, ``still_running`` (launched, no stop/terminate in the loaded data),
          ``running_hours`` (to the end, or to the last loaded event when still running: a
          lower bound), ``estimated_cost_usd`` (``hourly_usd`` × ``running_hours``; null for
          failed attempts). Restarts after a stop are not counted.

    Examples
    --------
    >>> import trailkit
    >>> ev = trailkit.normalize_records([{"eventTime": "2026-03-10T09:00:00Z", "eventID": "r1",
    ...   "eventName": "RunInstances", "awsRegion": "us-east-1", "userIdentity": {"type": "Root"},
    ...   "requestParameters": {"launchTemplate": {"launchTemplateId": "lt-1", "version": "2"},
    ...                         "instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]}},
    ...   "responseElements": {"instancesSet": {"items": [
    ...       {"instanceId": "i-1", "instanceType": "m5.large"}]}}},
    ...   {"eventTime": "2026-03-10T11:00:00Z", "eventID": "t1", "eventName": "TerminateInstances",
    ...   "userIdentity": {"type": "Root"},
    ...   "responseElements": {"instancesSet": {"items": [{"instanceId": "i-1"}]}}}])
    >>> instance_launches(ev).select("instance_type_source", "running_hours", "estimated_cost_usd").row(0)
    ('response', 2.0, 0.192)
    """
    require_columns(events, (*CORE_COLUMNS, "error_message", "invoked_by"), "instance_launches")
    name = pl.col("event_name")
    rp, re_ = "request_parameters", "response_elements"
    runs = events.filter(name == "RunInstances").with_row_index("_ev")

    lt_ref = pl.coalesce(
        jpath(rp, "$.launchTemplate.launchTemplateId"),
        jpath(rp, "$.launchTemplate.launchTemplateName"),
    )
    lt_version = jpath(rp, "$.launchTemplate.version")
    runs = runs.with_columns(
        jpath(rp, "$.instanceType").alias("_req_type"),
        pl.when(lt_ref.is_not_null())
        .then(pl.concat_str(lt_ref, pl.lit(":"), lt_version.fill_null("$Default")))
        .alias("launch_template"),
        as_list_text(jpath(re_, "$.instancesSet.items")).alias("_resp"),
        as_list_text(jpath(rp, "$.instancesSet.items")).alias("_reqitems"),
    )
    runs = decode(runs, "_resp", _INSTANCES, "_inst")
    runs = decode(runs, "_reqitems", _REQUEST_ITEMS, "_items")
    runs = runs.with_columns(
        pl.col("_items")
        .list.eval(to_int(pl.element().struct.field("maxCount")))
        .list.sum()
        .alias("_max"),
        pl.col("_items")
        .list.eval(pl.element().struct.field("imageId"))
        .list.drop_nulls()
        .list.first()
        .alias("_req_image"),
        pl.col("_inst").fill_null([]).list.len().alias("_n"),
    )
    launched = (
        runs.filter(pl.col("_n") > 0)
        .explode("_inst")
        .with_columns(
            pl.col("_inst").struct.field("instanceId").alias("instance_id"),
            pl.col("_inst").struct.field("instanceType").alias("_resp_type"),
            pl.coalesce(pl.col("_req_image"), pl.col("_inst").struct.field("imageId")).alias(
                "image_id"
            ),
            pl.lit(1, pl.Int64).alias("count"),
        )
    )
    attempts = runs.filter(pl.col("_n") == 0).with_columns(
        pl.lit(None, S).alias("instance_id"),
        pl.lit(None, S).alias("_resp_type"),
        pl.col("_req_image").alias("image_id"),
        pl.col("_max").fill_null(1).cast(pl.Int64).alias("count"),
    )
    rows = pl.concat([launched.drop("_inst"), attempts.drop("_inst")], how="vertical_relaxed")
    rows = rows.with_columns(
        pl.coalesce("_req_type", "_resp_type").alias("instance_type"),
        pl.when(pl.col("_req_type").is_not_null())
        .then(pl.lit("request"))
        .when(pl.col("_resp_type").is_not_null())
        .then(pl.lit("response"))
        .when(pl.col("launch_template").is_not_null())
        .then(pl.lit("launch_template_unresolved"))
        .otherwise(pl.lit("unknown"))
        .alias("instance_type_source"),
        (pl.col("error_code") == "Client.DryRunOperation").fill_null(False).alias("dry_run"),
    )

    # -- lifetimes: first later successful Stop/Terminate of the instance ---------------------
    ends = events.filter(
        name.is_in(["StopInstances", "TerminateInstances"]) & pl.col("success").fill_null(True)
    )
    ends = ends.select(
        "event_time",
        "event_id",
        "event_name",
        as_list_text(
            pl.coalesce(jpath(re_, "$.instancesSet.items"), jpath(rp, "$.instancesSet.items"))
        ).alias("_t"),
    ).filter(pl.col("_t").is_not_null())
    ends = (
        decode(ends, "_t", _IDS, "_ids")
        .explode("_ids")
        .select(
            pl.col("_ids").struct.field("instanceId").alias("instance_id"),
            pl.col("event_time").alias("ended_at"),
            pl.col("event_name").alias("end_event_name"),
            pl.col("event_id").alias("end_event_id"),
        )
        .filter(pl.col("instance_id").is_not_null())
        .sort("ended_at")
    )
    rows = rows.with_row_index("_row")
    has_id = rows.filter(
        pl.col("instance_id").is_not_null() & pl.col("event_time").is_not_null()
    ).sort("event_time")
    if has_id.height and ends.height:
        matched = (
            has_id.select("_row", "event_time", "instance_id")
            .join_asof(
                ends,
                left_on="event_time",
                right_on="ended_at",
                by="instance_id",
                strategy="forward",
                check_sortedness=False,
            )
            .select("_row", "ended_at", "end_event_name", "end_event_id")
        )
    else:
        matched = pl.DataFrame(
            schema={"_row": pl.UInt32, "ended_at": UTC, "end_event_name": S, "end_event_id": S}
        )
    rows = rows.join(matched, on="_row", how="left")

    end = end_of_data(events)
    end_lit = pl.lit(end, UTC)
    ok = pl.col("success").fill_null(True) & pl.col("instance_id").is_not_null()
    running = pl.when(ok).then(
        (pl.coalesce(pl.col("ended_at"), end_lit) - pl.col("event_time")).dt.total_seconds(
            fractional=True
        )
        / 3600
    )
    rows = (
        _price_lookup(rows)
        .with_columns(
            (ok & pl.col("ended_at").is_null()).alias("still_running"),
            running.alias("running_hours"),
            (pl.col("hourly_usd") * pl.col("count")).round(5).alias("hourly_usd_total"),
        )
        .with_columns(
            (pl.col("hourly_usd") * pl.col("running_hours")).round(4).alias("estimated_cost_usd")
        )
    )

    rows = attribute(rows, context=events)
    return rows.select(COLUMNS).sort("event_time", "event_id", "instance_id", nulls_last=True)
