"""trailkit: investigate AWS CloudTrail logs with polars.

Load delivered log files (or LookupEvents output, JSON Lines, JSON arrays) into one
normalised polars DataFrame with one clear ``actor`` per event, then ask questions.

>>> import trailkit
>>> df = trailkit.normalize_records([{"eventTime": "2026-03-10T14:05:32Z",
...     "eventName": "ListBuckets", "userIdentity": {"type": "Root",
...     "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"}}])
>>> df["actor"].to_list()
['root']

Heavy or optional dependencies (boto3, altair, ipywidgets, jupyter) load on first use.
"""

from __future__ import annotations

from trailkit._lazy import lazy_exports

__version__ = "0.1.0"

# public name -> module that defines it (imported on first attribute access)
_LAZY: dict[str, str] = {
    "read_events": "trailkit.load",
    "scan_events": "trailkit.load",
    "normalize_records": "trailkit.load",
    "last_report": "trailkit.load",
    "LoadReport": "trailkit.problems",
    "Problem": "trailkit.problems",
    "TrailkitError": "trailkit.errors",
    "InputError": "trailkit.errors",
    "LoadError": "trailkit.errors",
    "SCHEMA": "trailkit.schema",
    "COLUMNS": "trailkit.schema",
    # log-file integrity + CloudWatch metric-filter patterns
    "validate_logs": "trailkit.integrity",
    "write_digests": "trailkit.integrity",
    "filter_pattern": "trailkit.filters",
    "cis_filters": "trailkit.filters",
    # scenarios + attribution
    "attribute": "trailkit.attribution",
    "who_deleted_bucket": "trailkit.scenarios.buckets",
    "open_ingress": "trailkit.scenarios.ingress",
    "instance_launches": "trailkit.scenarios.instances",
    "ec2_price_info": "trailkit.scenarios.instances",
    "build_instance_type_policy": "trailkit.scenarios.policy",
    "policy_what_if": "trailkit.scenarios.policy",
}

__all__ = sorted([*_LAZY, "__version__"])


__getattr__, __dir__ = lazy_exports('trailkit', _LAZY, globals())
