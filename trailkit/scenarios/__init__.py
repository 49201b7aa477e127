"""Scenario investigations: each answers one incident question from normalised events.

===============================  ===============================================================
function                         question
===============================  ===============================================================
:func:`who_deleted_bucket`       who deleted an S3 bucket (and who changed its access before)
:func:`open_ingress`             which security-group rules opened SSH/RDP to the world, for how long
:func:`instance_launches`        which EC2 instances were launched or attempted, by whom, at what cost
:func:`build_instance_type_policy`  the IAM deny policy that allows only some instance types
:func:`policy_what_if`           which past launches that policy would have blocked
===============================  ===============================================================

Every function takes the frame from ``trailkit.read_events`` / ``normalize_records``, returns a
polars DataFrame sorted by time with ``event_id`` evidence columns, and names the person
behind role sessions through :func:`trailkit.attribute`.

>>> from trailkit.scenarios import open_ingress
>>> callable(open_ingress)
True
"""

from __future__ import annotations

from trailkit._lazy import lazy_exports

# name -> module; loaded on first use so that ``trailkit.attribution`` can import the shared
# helpers in ``trailkit.scenarios._common`` without importing every scenario.
_LAZY: dict[str, str] = {
    "who_deleted_bucket": "trailkit.scenarios.buckets",
    "open_ingress": "trailkit.scenarios.ingress",
    "instance_launches": "trailkit.scenarios.instances",
    "ec2_price_info": "trailkit.scenarios.instances",
    "ec2_prices": "trailkit.scenarios.instances",
    "build_instance_type_policy": "trailkit.scenarios.policy",
    "policy_what_if": "trailkit.scenarios.policy",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports('trailkit.scenarios', _LAZY, globals())
