"""Quota's JSON shapes (pure, no master records): requests in, the ``--quota`` file out and in.

Accepted request shapes:

- Mesos' ``UPDATE_QUOTA`` body ``{"quota_configs": [QuotaConfig...], "force": b}``
  (also inside the v1 call's ``{"update_quota": {...}}``) where a QuotaConfig is
  ``{"role": r, "guarantees": {"cpus": {"value": 1}}, "limits": {...}}`` (a
  config with neither removes the role's quota);
- Mesos' v0 ``QuotaRequest`` ``{"role": r, "guarantee": [resource dicts],
  "force": b}``, which (as in Mesos 1.9+) sets guarantees and limits alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from actors.allocator.errors import AllocatorError
from actors.allocator.quota import Quota, check_quota
from actors.resources import Resources, ResourcesError

__all__ = ["QuotaError", "parse_quota_body", "quotas_from_text", "quotas_to_text"]


class QuotaError(ValueError):
    """A refused quota update; the message names the role and the bad value."""


def _scalar_map(role: str, what: str, value: Any) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise QuotaError(f"quota {what} of role {role!r} must be an object name -> {{\"value\": x}}, got {value!r}")
    out: dict[str, float] = {}
    for name, v in value.items():
        amount = v.get("value") if isinstance(v, Mapping) else v
        if isinstance(amount, bool) or not isinstance(amount, (int, float)):
            raise QuotaError(f"quota {what} of role {role!r}: {name} must be a number, got {v!r}")
        out[str(name)] = float(amount)
    return out


def _config(item: Any) -> tuple[str, Quota]:
    if not isinstance(item, Mapping) or not isinstance(item.get("role"), str):
        raise QuotaError(f"a quota config must be an object with a 'role', got {item!r}")
    role = item["role"]
    if "guarantee" in item:  # v0 QuotaRequest: guarantees and limits alike
        try:
            res = Resources.from_dicts(item["guarantee"] or [])
        except (ResourcesError, TypeError, AttributeError) as e:
            raise QuotaError(f"bad quota guarantee of role {role!r}: {e}") from None
        if res.has_reservations():
            raise QuotaError(f"quota guarantee of role {role!r} must be unreserved resources, got {res}")
        if res.names() - res.quantities().keys():
            raise QuotaError(f"quota of role {role!r} names non-scalar resources {sorted(res.names())}")
        amounts = dict(res.quantities())
        guarantees, limits = amounts, amounts
    else:
        guarantees = _scalar_map(role, "guarantees", item.get("guarantees"))
        limits = _scalar_map(role, "limits", item.get("limits"))
    try:
        return role, check_quota(role, guarantees, limits)
    except AllocatorError as e:
        raise QuotaError(str(e)) from None


def parse_quota_body(body: Any) -> tuple[list[tuple[str, Quota]], bool]:
    """(role, quota) pairs and ``force`` from an UPDATE_QUOTA body or a v0 QuotaRequest."""
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body or b"{}")
        except ValueError as e:
            raise QuotaError(f"quota request is not JSON: {e}") from None
    if isinstance(body, Mapping) and isinstance(body.get("update_quota"), Mapping):
        body = body["update_quota"]  # the v1 call's envelope
    if not isinstance(body, Mapping):
        raise QuotaError(f"quota request must be a JSON object, got {body!r}")
    force = body.get("force", False)
    if not isinstance(force, bool):
        raise QuotaError(f"quota 'force' must be true or false, got {force!r}")
    items = body["quota_configs"] if "quota_configs" in body else [body]
    if not isinstance(items, list):
        raise QuotaError(f"'quota_configs' must be a list, got {items!r}")
    configs = [_config(item) for item in items]
    roles = [r for r, _ in configs]
    if len(set(roles)) != len(roles):
        raise QuotaError(f"a role appears more than once in the quota update: {roles}")
    return configs, force


def quotas_to_text(quotas: Mapping[str, Quota]) -> str:
    """The ``--quota`` file's text: an UPDATE_QUOTA body (forced) holding every role's config."""
    return json.dumps({"force": True, "quota_configs": [q.to_dict(r) for r, q in sorted(quotas.items())]},
                      indent=1) + "\n"


def quotas_from_text(text: str) -> dict[str, Quota]:
    """The table a ``--quota`` file holds (empty text: none); QuotaError naming the problem."""
    if not text.strip():
        return {}
    configs, _ = parse_quota_body(text)
    return {role: q for role, q in configs if q.guarantees or q.limits}
